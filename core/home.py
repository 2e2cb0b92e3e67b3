"""Where Lightbox keeps its files ($LIGHTBOX_HOME), and safe writes there; a leaf every layer may import."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["default_home"]


def default_home() -> Path:
    """Return $LIGHTBOX_HOME, or ~/.lightbox."""
    return Path(os.environ.get("LIGHTBOX_HOME") or Path.home() / ".lightbox").expanduser()


RUNS_FOLDER = "runs"  # under the home: one folder per run
WEIGHTS_FILE = "weights.pt"  # in a run's folder


def run_folder(home: str | os.PathLike[str], run_id: str) -> Path:
    """Return the folder that holds run `run_id`'s weights and the files exported from them, under `home`."""
    return Path(home) / RUNS_FOLDER / run_id


def write_problem(exc: BaseException) -> str:
    """Return in plain words why a file or database write failed: a full disk, no permission, or the OS's words."""
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in str(exc):  # SQLite says "database or disk is full"
        return "the disk is full"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    if code in (errno.ENOTDIR, errno.EEXIST):
        return "a file is in the way of the folder"
    return getattr(exc, "strerror", None) or str(exc)


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Write a file through a temporary sibling and rename it, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
