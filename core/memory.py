"""Keep a long-lived server's memory lean: fewer malloc arenas, and freed heap handed back to the system.

glibc gives each thread that allocates at the same time its own arena (up to 8 per core), and a freed
block stays in its arena. A Streamlit server runs each session's script in its own thread and each training
job in another, so freed memory piles up across arenas: with three visitors (one training ResNet-18, one
classifying photos, one on Compare) the server peaked at +448 MB over a bare `import torch`, and at +403 MB
with two arenas (benchmarks/cloud_rehearsal.py --goal, side by side). Elsewhere (macOS, musl) these do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

__all__: list[str] = []  # process tuning for the dashboard and the job runner, not part of core's public API

M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h


@cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 (glibc has both; other C libraries may not)
    except (OSError, AttributeError):
        return None
    return libc


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Let threads created from now on share at most `arenas` malloc arenas; return whether it took effect."""
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, arenas) == 1)


def release_free_memory() -> bool:
    """Hand the heap's free pages back to the system (after a job ends, say); return whether any were."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0) == 1)
