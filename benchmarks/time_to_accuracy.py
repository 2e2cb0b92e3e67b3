"""Wall time from a cold `python -m core train` process to a target validation accuracy.

The clock starts before the process is launched, so it counts interpreter and torch start-up, loading the data,
building the model and every epoch up to the first one whose validation accuracy reaches the target; the process
is then stopped. Targets: 97% on digits, 98% on MNIST (real MNIST only: without its files this prints a
"skipped" line, since a synthetic stand-in is not MNIST).

Run: python benchmarks/time_to_accuracy.py [--datasets digits mnist --repeats 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.data.registry import DATASETS  # noqa: E402
from core.runs import default_home  # noqa: E402

TARGETS = {"digits": (0.97, 20), "mnist": (0.98, 10), "fashion-mnist": (0.90, 20)}  # (accuracy, most epochs)
VAL_ACC = re.compile(r"epoch (\d+)/\d+ val_acc ([0-9.]+)")


def time_to_target(dataset: str, target: float, epochs: int, home: Path, device: str) -> tuple[float, int] | None:
    """Return (seconds, epoch) at which a fresh training process first reports val accuracy >= target."""
    cmd = [sys.executable, "-m", "core", "--home", str(home), "train", "--dataset", dataset, "--epochs", str(epochs)]
    cmd += ["--device", device]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:  # FitProgress writes one line per epoch end when stderr is not a terminal
            match = VAL_ACC.search(line)
            if match and float(match.group(2)) >= target:
                return time.perf_counter() - start, int(match.group(1))
        return None
    finally:
        proc.kill()
        proc.wait()


def _home() -> Path:
    """A fresh home for the runs that still sees the downloaded datasets."""
    home = Path(tempfile.mkdtemp(prefix="lightbox-tta-"))
    cache = default_home() / "cache"
    if cache.is_dir():
        os.symlink(cache, home / "cache")
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist"], choices=list(TARGETS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto", help="passed to `train --device`")
    args = parser.parse_args()
    print(f"{'dataset':<14} {'target':>6} {'median s':>9} {'min s':>7} {'epoch':>6}  runs")
    for name in args.datasets:
        target, epochs = TARGETS[name]
        if DATASETS[name].needs_download():
            print(f"{name:<14} {target:>6.0%}  skipped: {name} not downloaded (python -m core download {name})")
            continue
        results = [time_to_target(name, target, epochs, _home(), args.device) for _ in range(args.repeats)]
        reached = [r for r in results if r is not None]
        if not reached:
            print(f"{name:<14} {target:>6.0%}  not reached in {epochs} epochs")
            continue
        seconds = [s for s, _ in reached]
        epoch = statistics.median_low([e for _, e in reached])
        runs = " ".join(f"{s:.1f}" for s in seconds)
        print(f"{name:<14} {target:>6.0%} {statistics.median(seconds):>9.1f} {min(seconds):>7.1f} {epoch:>6}  {runs}")
    print(f"Device: {args.device}. Wall time from launching `python -m core train` to the first epoch at the target.")


if __name__ == "__main__":
    main()
