"""Shared timing for the benchmarks: candidates timed in turn, so drift in a shared CPU hits them alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any


def time_round_robin(
    runners: Mapping[str, Callable[[Any], object]], x: Any, runs: int, warmup: int = 5
) -> dict[str, float]:
    """Return each runner's median milliseconds per call on x, one call of each in turn per round."""
    for run in runners.values():
        for _ in range(warmup):
            run(x)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(runs):
        for name, run in runners.items():
            start = time.perf_counter()
            run(x)
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def time_in_blocks(
    runners: Mapping[str, Callable[[Any], object]], x: Any, calls: int, rounds: int = 3, warmup: int = 5
) -> dict[str, float]:
    """Return each runner's median milliseconds per call on x, timed over blocks of `calls` calls of one runner.

    As a server answering photo after photo runs one model: its small kernels find their weights and code in the
    caches, which calls alternating between models (time_round_robin) do not. Blocks alternate in `rounds`.
    """
    blocks: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            for _ in range(warmup):
                run(x)
            start = time.perf_counter()
            for _ in range(calls):
                run(x)
            blocks[name].append((time.perf_counter() - start) * 1000 / calls)
    return {name: statistics.median(t) for name, t in blocks.items()}
