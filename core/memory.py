"""Keep a long-lived server's memory lean: fewer malloc arenas, big blocks mapped apart, freed heap handed back.

glibc gives each thread that allocates at the same time its own arena (up to 8 per core), and a freed
block stays in its arena. A Streamlit server runs each session's script in its own thread and each training
job in another, so freed memory piles up across arenas: with three visitors (one training ResNet-18, one
classifying photos, one on Compare) the server peaked at +448 MB over a bare `import torch`, and at +403 MB
with two arenas (benchmarks/cloud_rehearsal.py --goal, side by side).

glibc also serves a big block (a tensor's storage) from its heap once a block that size has been freed: its
mmap threshold rises to the largest block freed, up to 32 MB. Batches, activations, gradients and the
optimizer's temporaries then scatter over the arenas, and what they free in the middle of a heap stays
resident. With the threshold fixed, each block at or above it is its own mapping, returned to the system
when freed. The same three visitors, side by side under load: +645 MB with glibc's threshold, +499 MB at
4 MB, +460 MB at 1 MB (peak RSS over a bare `import torch`). At 1 MB every optimizer step maps and faults in
fresh pages: training took 1.44-1.48x as long (benchmarks/allocator.py), at 4 MB 1.04x; hence 4 MB.
Measured again with training's fused steps inside backward, 4 MB costs 1.20x the training time against
glibc's defaults (page faults of oneDNN's reorders and of big activations, every batch); a 16 MB threshold,
or 32 MB of free heap top kept, would save most of it but cost the three visitors 80-90 MB at the peak.
Elsewhere (macOS, musl) these do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from functools import cache
from pathlib import Path

__all__: list[str] = []  # process tuning for the dashboard and the job runner, not part of core's public API

M_ARENA_MAX = -8  # mallopt's parameter numbers in glibc's malloc.h
M_MMAP_THRESHOLD = -3
M_TRIM_THRESHOLD = -1


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


def map_big_blocks(threshold: int = 4 << 20) -> bool:
    """Serve every block of `threshold` bytes or more by its own mapping, freed straight back to the system.

    The process counts as a server from then on: `hand_back` returns its freed pages as it goes.
    """
    global _serving
    libc = _glibc()
    _serving = bool(libc is not None and libc.mallopt(M_MMAP_THRESHOLD, threshold) == 1)
    return _serving


def reuse_freed_memory(threshold: int = 256 << 20, keep: int = 1 << 30) -> bool:
    """For a batch process (a command, a test worker), the opposite of map_big_blocks: blocks under `threshold`
    come from the heap, and up to `keep` bytes freed at its top stay there for the next batch.

    glibc maps a block above 32 MB apart however often one is freed (a Lite0 batch's activations at 224 pixels),
    and hands the heap's top back at 64 MB free, so each batch maps and faults in fresh pages again. Kept, the
    pages are reused: `python -m core quantize imagenet` took 11.2 s instead of 15.5 (system time 0.4 s instead
    of 4.5, 0.22 million page faults instead of 2.35), a ResNet-18 epoch on the digits 4.9 s instead of 5.6, at
    a peak RSS of 1,380 MB instead of 1,237. Not for a server, whose visitors need the memory back.
    """
    libc = _glibc()
    if libc is None:
        return False
    return libc.mallopt(M_MMAP_THRESHOLD, threshold) == 1 and libc.mallopt(M_TRIM_THRESHOLD, keep) == 1


def release_free_memory() -> bool:
    """Hand the heap's free pages back to the system (after a job ends, say); return whether any were."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0) == 1)


HAND_BACK_EVERY = 1.0  # seconds: a server's freed pages go back at most this often
_serving = False  # map_big_blocks() ran: this process is a server
_last_hand_back = float("-inf")
_hand_back_lock = threading.Lock()


def hand_back() -> bool:
    """In a server, hand the heap's free pages back (at most once a second); a batch process keeps them.

    Called after each whole-page run. Blocks under the 4 MB mapped apart stay in the heap when freed: a photo
    classified and explained leaves 16-31 MB there. Kept, they add to the peak when the next visitor's work
    lands on top: the three visitors of `cloud_rehearsal.py --goal` peaked at +403, +418, +417 and +423 MB
    against +429 and +418 without (alternating); handing back after each training epoch too made no
    difference (+404 and +422). A hand-back takes 2-4 ms; a batch process (a command, a test worker) reuses its freed
    pages instead.
    """
    global _last_hand_back
    if not _serving:
        return False
    with _hand_back_lock:
        now = time.monotonic()
        if now - _last_hand_back < HAND_BACK_EVERY:
            return False
        _last_hand_back = now
    return release_free_memory()


def stop_me_first() -> bool:
    """Ask the kernel to stop this process first when memory runs out (Linux); return whether it took effect.

    For a child doing one-off heavy work for a server: out of memory, the child goes, not the server.
    """
    try:
        Path("/proc/self/oom_score_adj").write_text("1000")
    except OSError:
        return False
    return True
