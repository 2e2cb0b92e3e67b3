"""How long the Fool-the-model page and Classify's look-inside section take on the built-in ImageNet model.

  classify:        Predictor.classify on the optimised (oneDNN-prepacked) EfficientNet-Lite0, the baseline
  eager copy:      building the differentiable copy of that model (once per model)
  attack:          one FGSM image: a backward pass through the eager copy, two forwards of the optimised one
  smallest flip:   one backward pass, then up to ten forwards
  layers:          the probe pass that lists the layers a user can pick
  feature maps:    the grid picture for the first and the last layer

Run: python benchmarks/attack_speed.py [--repeats 7 --threads N]
Prints the median milliseconds of each, and its ratio to classify.
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

from core import Predictor
from core.adversarial import attack, differentiable_model, smallest_flip
from core.data.photos import sample_photo
from core.feature_maps import draw_feature_maps, list_layers


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Return the median wall time of fn in milliseconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    predictor = Predictor.pretrained("imagenet")
    photo = sample_photo("chelsea")
    start = time.perf_counter()
    differentiable_model(predictor.model)
    copy_ms = (time.perf_counter() - start) * 1000
    layers = list_layers(predictor)
    rows = {
        "classify": median_ms(lambda: predictor.classify(photo), args.repeats),
        "attack (epsilon 0.02)": median_ms(lambda: attack(predictor, photo, 0.02), args.repeats),
        "smallest flip": median_ms(lambda: smallest_flip(predictor, photo), args.repeats),
        "layers": median_ms(lambda: list_layers(predictor), args.repeats),
        f"feature maps, {layers[0].name}": median_ms(
            lambda: draw_feature_maps(predictor, photo, layers[0].name), args.repeats
        ),
        f"feature maps, {layers[-1].name}": median_ms(
            lambda: draw_feature_maps(predictor, photo, layers[-1].name), args.repeats
        ),
    }
    print(f"EfficientNet-Lite0, 224x224, {args.threads} threads, median of {args.repeats}")
    print(f"{'eager copy (once)':<28} {copy_ms:8.1f} ms")
    base = rows["classify"]
    for name, ms in rows.items():
        print(f"{name:<28} {ms:8.1f} ms  {ms / base:5.1f}x classify")


if __name__ == "__main__":
    main()
