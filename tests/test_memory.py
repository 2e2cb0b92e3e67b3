"""Process memory tuning: glibc's mallopt and malloc_trim are reached through ctypes, and fail soft elsewhere."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")


@glibc
def test_freed_memory_goes_back_to_the_system() -> None:
    """A heap left full of freed small blocks shrinks once release_free_memory() runs."""
    code = (
        "from core.memory import limit_malloc_arenas, release_free_memory\n"
        "def rss():\n"
        "    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])\n"
        "assert limit_malloc_arenas(2)\n"
        "keep = [bytes(4000) for _ in range(25_000)]  # ~100 MB of malloc's blocks (pymalloc takes <= 512 B)\n"
        "del keep[: len(keep) - 1]  # free all but the last: the heap cannot shrink from its top\n"
        "before = rss()\n"
        "assert release_free_memory()\n"
        "print(before - rss())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert int(out.stdout) > 50_000  # kB handed back
