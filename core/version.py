"""The code version recorded with every run."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

__all__ = ["__version__"]

__version__ = "0.1.0"
_ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    """Return the output of a git command in the source tree, or None when git or the checkout is absent."""
    try:
        out = subprocess.run(["git", "-C", str(_ROOT), *args], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """Return the package version plus the git commit when the code runs from a checkout."""
    commit = _git("rev-parse", "--short=10", "HEAD")
    if not commit:
        return __version__
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return f"{__version__}+{commit}{'.dirty' if dirty else ''}"
