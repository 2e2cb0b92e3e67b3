"""A user's own datasets: imported once, kept as files, loaded by name.

The server's (CLI imports, shared mode) live in $LIGHTBOX_HOME/datasets; a private-mode visitor's in
$LIGHTBOX_HOME/workspaces/<workspace>/datasets, each file recording its owner.
"""

from __future__ import annotations

import pickle
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.data.base import ImageDataset
from core.errors import DatasetError, ReadOnlyError, StoreError
from core.home import atomic_write_bytes, default_home
from core.sharing import SERVER, is_workspace

__all__ = ["UserDatasetInfo", "delete_user_dataset", "list_user_datasets"]

_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,39}")
_FORMAT = 1  # bump when the payload's keys change
_LOAD_ERRORS = (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, OSError, EOFError, ValueError)


@dataclass(frozen=True)
class UserDatasetInfo:
    """One imported dataset's summary, without its pixels."""

    name: str
    classes: tuple[str, ...]
    images: int
    image_size: int
    created: float
    skipped: int
    owner: str = SERVER  # a visitor's workspace id, or the server


def datasets_dir(owner: str | None = None) -> Path:
    """Return the folder that keeps the server's imported datasets, or those of workspace `owner`."""
    if owner is None or owner == SERVER:
        return default_home() / "datasets"
    if not is_workspace(owner):
        raise DatasetError("This visitor's workspace id is not valid; reload the page to get a new one.")
    return default_home() / "workspaces" / owner / "datasets"


def check_name(name: str) -> str:
    """Return `name` if it can name a dataset file, or raise DatasetError saying why not.

    The rule that a user's dataset may not take a built-in dataset's name lives in the registry,
    which owns those names (`core.data.registry.check_dataset_name`).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise DatasetError(
            f"'{name}' cannot name a dataset. Use 1 to 40 letters, digits, '-', '_' or '.' "
            "(not '.' first), e.g. my-pets."
        )
    return name


def _path(name: str, owner: str | None = None) -> Path:
    return datasets_dir(owner) / f"{check_name(name)}.pt"


def _is_valid(name: str) -> bool:
    try:
        check_name(name)
    except DatasetError:
        return False
    return True


def user_dataset_version(name: str, owner: str | None = None) -> tuple[int, int, int] | None:
    """Return a key that changes whenever dataset `name` is saved again, or None if there is none."""
    if not _is_valid(name):
        return None
    try:
        st = _path(name, owner).stat()
    except (OSError, DatasetError):
        return None
    return st.st_mtime_ns, st.st_ino, st.st_size


def user_dataset_source(name: str, owner: str | None = None) -> str | None:
    """Return where imported dataset `name` was read from (its folder or .zip path, or "upload"), or None if absent."""
    if not _is_valid(name):
        return None
    try:
        return str(_read(_path(name, owner), mmap=True).get("source", ""))
    except (OSError, DatasetError):
        return None


def write_user_dataset(dataset: ImageDataset, owner: str | None = None) -> Path:
    """Keep a dataset under its (checked) name for `owner` (None: the server), replacing one; return its path."""
    path = _path(dataset.name, owner)
    payload = {
        "format": _FORMAT,
        "images": dataset.images.clone(memory_format=torch.contiguous_format),  # (N, C, H, W) uint8
        "labels": dataset.labels.to(torch.int64).clone(),  # (N,)
        "classes": list(dataset.classes),
        "skipped": list(dataset.skipped),
        "image_size": dataset.image_size[0],
        "created": time.time(),
        "source": dataset.source,
        "description": dataset.description,
        "dark_background": dataset.dark_background,
        "owner": owner or SERVER,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, lambda f: torch.save(payload, f))
    except (OSError, RuntimeError) as exc:  # torch.save reports a failed write as RuntimeError
        reason = getattr(exc, "strerror", None) or str(exc)
        raise StoreError(
            f"Cannot save the dataset '{dataset.name}' in {path.parent} ({reason}). "
            "Free some disk space, or set LIGHTBOX_HOME to a folder you can write to."
        ) from exc
    return path


def _read(path: Path, mmap: bool = False) -> dict[str, Any]:
    """Load a dataset file as plain tensors and values, refusing anything that would run code."""
    try:
        payload = torch.load(path, weights_only=True, map_location="cpu", mmap=mmap)
    except FileNotFoundError:
        raise
    except _LOAD_ERRORS as exc:
        raise DatasetError(
            f"The dataset file {path.name} is damaged or not a Lightbox dataset. Import the images again."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise DatasetError(f"The dataset file {path.name} is not a Lightbox dataset. Import the images again.")
    return payload


def load_user_dataset(name: str, owner: str | None = None) -> ImageDataset:
    """Load an imported dataset of `owner` (None: the server) by name."""
    path = _path(name, owner)
    try:
        p = _read(path)
    except FileNotFoundError:
        raise DatasetError(f"There is no dataset '{name}'. Import your images first.") from None
    try:
        return ImageDataset(
            name=name,
            images=p["images"],
            labels=p["labels"],
            classes=tuple(str(c) for c in p["classes"]),
            description=str(p.get("description", "")),
            dark_background=bool(p.get("dark_background", False)),
            source=str(p.get("source", "")),
            skipped=tuple(str(s) for s in p.get("skipped", ())),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise DatasetError(f"The dataset file {path.name} is incomplete. Import the images again.") from exc


def _info(path: Path) -> UserDatasetInfo:
    """Summarise one dataset file; its pixels are memory-mapped, never read."""
    p = _read(path, mmap=True)
    return UserDatasetInfo(
        name=path.stem,
        classes=tuple(str(c) for c in p["classes"]),
        images=int(p["labels"].shape[0]),
        image_size=int(p["image_size"]),
        created=float(p["created"]),
        skipped=len(p.get("skipped", ())),
        owner=str(p.get("owner", SERVER)),
    )


def _list(folder: Path) -> list[UserDatasetInfo]:
    infos = []
    for path in folder.glob("*.pt"):
        if not _is_valid(path.stem):
            continue
        try:
            infos.append(_info(path))
        except (DatasetError, OSError, KeyError, TypeError, AttributeError, ValueError):
            continue  # a damaged or foreign file must not hide the others
    return infos


def list_user_datasets(viewer: str | None = None) -> list[UserDatasetInfo]:
    """Return the server's imported datasets and, for a visitor, their own (which hide a server's of the same name).

    This is the one place where datasets are filtered by who looks; newest first, unreadable files left out.
    """
    own = _list(datasets_dir(viewer)) if viewer else []
    names = {i.name for i in own}
    infos = own + [i for i in _list(datasets_dir()) if i.name not in names]
    return sorted(infos, key=lambda i: (-i.created, i.name))


def delete_user_dataset(name: str, owner: str | None = None) -> None:
    """Delete an imported dataset of `owner` (None: the server); runs trained on it are kept."""
    path = _path(name, owner)
    try:
        path.unlink()
    except FileNotFoundError:
        if owner and _path(name).is_file():
            built_in = f"The dataset '{name}' is built in: everyone can use it, nobody can delete it here."
            raise ReadOnlyError(built_in) from None
        raise DatasetError(f"There is no dataset '{name}' to delete.") from None
    except OSError as exc:
        raise StoreError(f"Cannot delete the dataset '{name}' ({exc.strerror or exc}).") from exc
