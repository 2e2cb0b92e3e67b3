"""Sharing modes: `shared` (one person or a team: everyone sees every run) or `private` (a public link).

In private mode everything a visitor makes belongs to their workspace, a random token tied to their
browser tab; built-in material belongs to the server. This module holds the mode, the workspace tokens
and the fair-use limits as plain values; it imports neither torch nor streamlit.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from core.errors import LightboxError

SERVER = "server"  # the owner of built-in material and of everything the CLI and torchrun write
MODES = ("private", "shared")
CLOUD_MOUNT = Path("/mount/src")  # Community Cloud clones every app's repository under this folder
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")  # what secrets.token_urlsafe(16) makes: 128 random bits


class SharingError(LightboxError):
    """A sharing setting that is not one Lightbox knows."""


def on_community_cloud(root: str | os.PathLike[str]) -> bool:
    """Say whether the app at `root` runs on Streamlit Community Cloud (its code lives under /mount/src)."""
    try:
        return Path(root).resolve().is_relative_to(CLOUD_MOUNT)
    except OSError:
        return False


def sharing_mode(setting: str | None, root: str | os.PathLike[str]) -> str:
    """Return the mode `setting` names, or the default: private on Community Cloud, shared elsewhere."""
    value = (setting or "").strip().lower()
    if not value:
        return "private" if on_community_cloud(root) else "shared"
    if value not in MODES:
        raise SharingError(f"LIGHTBOX_SHARING must be 'private' or 'shared' (got '{setting}').")
    return value


def new_workspace() -> str:
    """Return a new, unguessable workspace id."""
    return secrets.token_urlsafe(16)


def is_workspace(token: object) -> bool:
    """Say whether `token` has the shape of a workspace id (so it can name a folder safely)."""
    return isinstance(token, str) and bool(_TOKEN.fullmatch(token))


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise SharingError(f"{name} must be a number such as {default:g} (got '{value}').") from exc
    if number <= 0:
        raise SharingError(f"{name} must be above 0 (got '{value}').")
    return number


def camera_fps(default: float = 8.0) -> float:
    """Return the most frames a second one live camera sends: LIGHTBOX_CAMERA_FPS, else `default`.

    Each frame is a model call on the server: a host serving many cameras at once lowers it.
    """
    return _env_number("LIGHTBOX_CAMERA_FPS", default)


@dataclass(frozen=True)
class Limits:
    """Fair use per visitor on a private-mode server."""

    epochs: int = 30  # per training job
    images: int = 60_000  # in a job's dataset: every built-in one (MNIST has 60,000), not a huge import
    seconds: float = 300.0  # a job is stopped (and kept) after this long
    disk_mb: float = 200.0  # runs, datasets and uploads of one workspace
    ttl: float = 3600.0  # seconds a workspace lives after its visitor was last seen

    @classmethod
    def from_env(cls) -> Limits:
        """Read LIGHTBOX_MAX_EPOCHS, _MAX_IMAGES, _JOB_SECONDS, _WORKSPACE_MB and LIGHTBOX_WORKSPACE_TTL."""
        d = cls()
        return cls(
            epochs=int(_env_number("LIGHTBOX_MAX_EPOCHS", d.epochs)),
            images=int(_env_number("LIGHTBOX_MAX_IMAGES", d.images)),
            seconds=_env_number("LIGHTBOX_JOB_SECONDS", d.seconds),
            disk_mb=_env_number("LIGHTBOX_WORKSPACE_MB", d.disk_mb),
            ttl=_env_number("LIGHTBOX_WORKSPACE_TTL", d.ttl),
        )
