"""Time what the warm start takes off a demo's first clicks.

Baseline: a page that loads an item itself when first asked, in a fresh server process (the cold time).
With the warm-up thread started with the server, the same request finds the item loaded: a cached lookup.

Run: python benchmarks/warm_start.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.warm import demo_items, warm_up  # noqa: E402

COLD = (
    "import time, core.warm as w; load = w.demo_items()[{label!r}]; "
    "t = time.perf_counter(); load(); print(time.perf_counter() - t)"
)


def cold_seconds(label: str) -> float:
    """Return how long a fresh process (core already imported) takes to load one item."""
    out = subprocess.run([sys.executable, "-c", COLD.format(label=label)], cwd=ROOT, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    cold = {label: cold_seconds(label) for label in demo_items()}
    start = time.perf_counter()
    warmup = warm_up()
    warmup.done.wait()
    print(f"warm-up thread, every item: {time.perf_counter() - start:.2f} s (failed: {warmup.failed() or 'none'})")
    for label, load in demo_items().items():
        t = time.perf_counter()
        load()
        warm_ms = 1000 * (time.perf_counter() - t)
        print(f"{label}: first request {cold[label]:.2f} s cold vs {warm_ms:.3f} ms after the warm-up")


if __name__ == "__main__":
    main()
