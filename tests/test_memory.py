"""Process memory tuning: glibc's mallopt and malloc_trim are reached through ctypes, and fail soft elsewhere."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
IN_HEAP = (  # Python code: in_heap(buffer) says whether a bytearray lies in the process's heap or in a mapping apart
    "import ctypes\n"
    "def in_heap(block):\n"
    "    address = ctypes.addressof((ctypes.c_char * len(block)).from_buffer(block))\n"
    "    heap = next(line for line in open('/proc/self/maps') if line.rstrip().endswith('[heap]'))\n"
    "    low, high = (int(x, 16) for x in heap.split()[0].split('-'))\n"
    "    return low <= address < high\n"
)


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


@glibc
@pytest.mark.parametrize("server", [False, True])
def test_a_server_hands_freed_pages_back_as_it_goes_and_a_batch_process_keeps_them(server: bool) -> None:
    """hand_back() (after each page run and epoch) trims a server's heap, at most once a second; elsewhere nothing."""
    code = (
        "from core.memory import hand_back, limit_malloc_arenas, map_big_blocks\n"
        "def rss():\n"
        "    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])\n"
        f"assert limit_malloc_arenas(2) and ({server} is False or map_big_blocks())\n"
        "keep = [bytes(4000) for _ in range(25_000)]\n"
        "del keep[: len(keep) - 1]\n"
        "before = rss()\n"
        "first = hand_back()\n"
        "print(first, hand_back(), before - rss())  # the second, at once, waits its turn\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    first, second, freed = out.stdout.split()
    assert (first, second) == (str(server), "False")
    assert (int(freed) > 50_000) == server  # kB handed back by a server only


@glibc
@pytest.mark.parametrize("lean", [False, True])
def test_big_blocks_get_their_own_mapping_once_the_server_asks(lean: bool) -> None:
    """glibc serves an 8 MB block from its heap once a bigger one was freed, unless map_big_blocks() ran."""
    code = IN_HEAP + (
        "from core.memory import map_big_blocks\n"
        f"assert {lean} is False or map_big_blocks(4 << 20)\n"
        "first = bytearray(16 << 20)\n"
        "del first  # glibc's own threshold rises past 8 MB\n"
        "print(in_heap(bytearray(8 << 20)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == str(not lean)


@glibc
@pytest.mark.parametrize("batch", [False, True])
def test_a_batch_process_serves_big_blocks_from_its_heap_and_keeps_them(batch: bool) -> None:
    """glibc maps a 48 MB block apart and hands a freed heap top back; after reuse_freed_memory() it does neither."""
    code = IN_HEAP + (
        "from core.memory import reuse_freed_memory\n"
        f"assert {batch} is False or reuse_freed_memory()\n"
        "def rss():\n"
        "    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])\n"
        "block = bytearray(48 << 20)\n"
        "heap, before = in_heap(block), rss()\n"
        "del block\n"
        "print(heap, before - rss() > 40_000)  # in the heap; handed back when freed\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == [str(batch), str(not batch)]
