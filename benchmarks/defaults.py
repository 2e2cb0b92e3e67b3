"""Do the default settings reach a result worth showing? Validation accuracy and seconds per built-in dataset.

Each line is one cold `python -m core train --dataset NAME` with no other option (the settings the Train page
starts from too), timed from launch to exit: interpreter and torch start-up, making the data, training and
saving. `--before` also runs shapes with the settings it had before per-dataset defaults (32 px, 2,000 images,
10 epochs of Adam at 0.003, batch 64, constant rate), one after the other, so the two figures share the load.

Run: python benchmarks/defaults.py [--before] [--datasets digits shapes]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE = ["--image-size", "32", "--samples", "2000", "--epochs", "10", "--lr", "0.003", "--batch-size", "64"]
BEFORE += ["--schedule", "constant"]
TARGETS = {"digits": 0.95, "shapes": 0.90}  # what "worth showing" means per dataset; shapes: within 30 s too


def train_once(dataset: str, extra: list[str], home: Path) -> tuple[float, float]:
    """Return (validation accuracy, wall seconds) of one cold training process."""
    cmd = [sys.executable, "-m", "core", "--home", str(home), "train", "--dataset", dataset, *extra]
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    seconds = time.perf_counter() - start
    return float(re.search(r"^val_accuracy: ([0-9.]+)", out, re.MULTILINE).group(1)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(TARGETS))
    parser.add_argument("--before", action="store_true", help="also run shapes with its old settings")
    args = parser.parse_args()
    print(f"{'dataset':<8} {'settings':<9} {'val acc':>8} {'seconds':>8}  target")
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in args.datasets:
            runs = [("default", [])]
            if args.before and dataset == "shapes":
                runs.insert(0, ("before", BEFORE))
            for label, extra in runs:
                acc, seconds = train_once(dataset, extra, Path(tmp))
                target = TARGETS.get(dataset, 0.0)
                verdict = "ok" if acc >= target else "MISSED"
                print(f"{dataset:<8} {label:<9} {acc:>8.1%} {seconds:>8.1f}  >= {target:.0%}: {verdict}", flush=True)


if __name__ == "__main__":
    main()
