"""Time the Teach flow: 3 classes x 30 images to a trained model on a frozen EfficientNet-Lite0.

Baseline: the same head trained end to end through the backbone on every batch (augment="light" turns
the feature cache off), so the ratio shows what computing features once buys.

Run: python benchmarks/teach_speed.py [--per-class 30 --epochs 20]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from PIL import Image

from core import DataConfig, ModelConfig, RunConfig, RunStore, TrainConfig, dataset_from_samples, save_user_dataset
from core import train_run as run_training
from core.data.shapes import draw_shape


def _files(kind: str, n: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        buf = io.BytesIO()
        Image.fromarray(draw_shape(kind, 160, rng)).save(buf, format="JPEG")
        out.append(buf.getvalue())
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-class", type=int, default=30)
    p.add_argument("--epochs", type=int, default=20)
    args = p.parse_args()
    store = RunStore(tempfile.mkdtemp())
    samples = {k: _files(k, args.per_class, i) for i, k in enumerate(("circle", "star", "cross"))}

    def train(augment: str, seed: int) -> tuple[float, float]:
        start = time.perf_counter()
        dataset = dataset_from_samples("teach-bench", samples)
        save_user_dataset(dataset)
        cfg = RunConfig(
            DataConfig("teach-bench", val_fraction=0.25),
            ModelConfig("lite0_transfer"),
            TrainConfig(epochs=args.epochs, batch_size=16, augment=augment, seed=seed),
        )
        run = run_training(cfg, store)
        return time.perf_counter() - start, run.metrics["val_accuracy"]

    first, acc = train("none", 0)
    again, acc2 = train("none", 1)
    baseline, acc3 = train("light", 0)
    n = 3 * args.per_class
    print(f"Teach: 3 classes x {args.per_class} images, {args.epochs} epochs, {torch.get_num_threads()} threads")
    print(f"  first training (decode + features + head)  {first:6.2f} s   val accuracy {acc:.0%}")
    print(f"  retraining (features cached)               {again:6.2f} s   val accuracy {acc2:.0%}")
    print(f"  backbone on every batch (baseline)          {baseline:6.2f} s   val accuracy {acc3:.0%}")
    print(f"  cached features vs baseline: {baseline / first:.1f}x first, {baseline / again:.1f}x retrain ({n} images)")


if __name__ == "__main__":
    main()
