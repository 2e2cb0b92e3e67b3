"""A command's allocator (core.memory.reuse_freed_memory, set by `python -m core`) against glibc's defaults.

Each round runs the same command in two fresh processes, alternating: `python -m core ...` as shipped, and the
same command line through `core.cli.main` with glibc's defaults. Both over a fresh temporary LIGHTBOX_HOME,
one torch thread. Reported per setting and command: medians of wall seconds, CPU (user and system) seconds,
minor page faults and peak RSS.
Run: python benchmarks/batch_allocator.py [--rounds 2]

Measured 2026-12-05 on the shared 2-core machine (2 rounds, load 1.0), kept against glibc's defaults:
quantizing the built-in model 13.2 vs 16.9 s (0.78x; system time 0.8 vs 4.8 s, page faults 0.29 vs 2.51
million) at 1,488 vs 1,305 MB peak; ResNet-18's epoch on the digits 6.8 vs 7.5 s (0.91x) at 865 vs 816 MB; the
default CNN 4.1 vs 4.1 s. The test workers keep freed memory the same way (tests/conftest.py): the whole suite
took 199.2 and 188.8 s against 214.7 and 193.9 s for the tree before, alternating (0.95x).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "quantize the built-in model": ["quantize", "imagenet"],
    "ResNet-18, one epoch on the digits": ["train", "--model", "resnet18", "--epochs", "1"],
    "the default training (a CNN on the digits)": ["train"],
}
DEFAULTS = "import sys; from core.cli import main; sys.exit(main(sys.argv[1:]))"  # no reuse_freed_memory()


def run(args: list[str], shipped: bool) -> dict[str, float]:
    """Run one command in a fresh process; return its wall and CPU seconds, page faults and peak RSS (MB)."""
    launcher = ["-m", "core"] if shipped else ["-c", DEFAULTS]
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "LIGHTBOX_HOME": home, "OMP_NUM_THREADS": "1"}
        start = time.perf_counter()
        with tempfile.TemporaryFile() as err:
            command = [sys.executable, *launcher, *args]
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own usage, its peak RSS included
            wall = time.perf_counter() - start
            if os.waitstatus_to_exitcode(status):
                err.seek(0)
                raise SystemExit(f"python -m core {' '.join(args)} failed:\n{err.read().decode()[-2000:]}")
    return {
        "wall s": wall,
        "user s": usage.ru_utime,
        "system s": usage.ru_stime,
        "page faults (k)": usage.ru_minflt / 1000,
        "peak RSS MB": usage.ru_maxrss / 1024,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    for title, command in COMMANDS.items():
        results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
        for _ in range(args.rounds):
            for shipped in (False, True):
                results[shipped].append(run(command, shipped))
        print(f"\n{title}: python -m core {' '.join(command)}")
        for key in results[True][0]:
            old, new = (statistics.median(r[key] for r in results[s]) for s in (False, True))
            print(f"  {key:16} glibc {old:8.1f}   kept {new:8.1f}   {new / old if old else float('nan'):.2f}x")


if __name__ == "__main__":
    main()
