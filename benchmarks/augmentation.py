"""Augmentation throughput of augment_batch() against the per-sample way, on the same images and threads.

  batched:    augment_batch(images, preset, generator), one call per training batch (B, C, H, W)
  per-sample: the equivalent torchvision.transforms.v2 pipeline applied one image at a time, as a
              Dataset's __getitem__ would (RandomHorizontalFlip, RandomAffine, ColorJitter)

Run: python benchmarks/augmentation.py [--images 4096 --batch-size 64 --repeats 5 --threads N]
Prints images/s for each on digits (1x8x8) and shapes (3x32x32), light and strong, and the ratio
batched / per-sample (median of the repeats, interleaved).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from torchvision.transforms import v2

from core import DataConfig, augment_batch, load_dataset


def per_sample_pipeline(preset: str) -> v2.Compose:
    """The torchvision transforms that match a preset of augment_batch, for one image at a time."""
    steps: list[v2.Transform] = [
        v2.RandomHorizontalFlip(),
        v2.RandomAffine(
            degrees=15.0 if preset == "strong" else 0.0,
            translate=(0.1, 0.1),
            scale=(1.0, 1.15),
            interpolation=v2.InterpolationMode.BILINEAR,
        ),
    ]
    if preset == "strong":
        steps.append(v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3))
    return v2.Compose(steps)


def run_batched(images: torch.Tensor, preset: str, batch_size: int) -> float:
    """Images per second of augment_batch over the images in training-sized batches."""
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for i in range(0, len(images), batch_size):
        augment_batch(images[i : i + batch_size], preset, gen)
    return len(images) / (time.perf_counter() - start)


def run_per_sample(images: torch.Tensor, preset: str, batch_size: int) -> float:
    """Images per second of the torchvision pipeline called once per image, then stacked into batches."""
    transform = per_sample_pipeline(preset)
    torch.manual_seed(0)
    start = time.perf_counter()
    for i in range(0, len(images), batch_size):
        torch.stack([transform(img) for img in images[i : i + batch_size]])
    return len(images) / (time.perf_counter() - start)


def sample_images(name: str, count: int) -> torch.Tensor:
    """Return `count` uint8 images (N, C, H, W) from a dataset, repeated if it has fewer."""
    images = load_dataset(DataConfig(name=name)).images
    return images.repeat(-(-count // len(images)), 1, 1, 1)[:count]


def median_rates(runs: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """Call each runner `repeats` times, interleaved so drift on a shared machine hits all alike."""
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            rates[name].append(run())
    return {name: statistics.median(r) for name, r in rates.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=4096)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)  # one thread is steadier on a shared machine
    print(
        f"{args.images} images, batch {args.batch_size}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    print(f"  {'dataset':<8} {'preset':<7} {'batched':>14} {'per-sample':>14} {'ratio':>8}")
    for dataset in ("digits", "shapes"):
        images = sample_images(dataset, args.images)
        for preset in ("light", "strong"):
            run_batched(images[: args.batch_size * 2], preset, args.batch_size)  # warm-up
            runs = {
                "batched": lambda im=images, pr=preset: run_batched(im, pr, args.batch_size),
                "per-sample": lambda im=images, pr=preset: run_per_sample(im, pr, args.batch_size),
            }
            fast, slow = median_rates(runs, args.repeats).values()
            print(f"  {dataset:<8} {preset:<7} {fast:>10,.0f} i/s {slow:>10,.0f} i/s {fast / slow:>7.1f}x")


if __name__ == "__main__":
    main()
