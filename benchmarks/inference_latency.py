"""Single-image latency and batch throughput of every model, Lightbox's inference path against plain eager PyTorch.

For each model (trained weights do not change speed, so freshly built ones are timed): plain eager
PyTorch (`torch.no_grad`, NCHW, as the book writes it) against what Lightbox serves: `Predictor`'s
forward pass (inference_mode, channels_last input; a pretrained Lite0 backbone BN-folded and oneDNN-prepacked)
and, for runs, TorchScript freezing as a third candidate. Candidates are timed round-robin so drift in a
shared CPU hits them alike; figures are medians.

Run: python benchmarks/inference_latency.py [--threads 2] [--runs 40]
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import time_round_robin

from core import InputSpec, ModelConfig, Predictor, build_model
from core.inference import serving_model

Runner = Callable[[torch.Tensor], torch.Tensor]
DIGITS = InputSpec(1, 8, 8, tuple("0123456789"), (0.3,), (0.3,), dark_background=True)
PHOTO = InputSpec(3, 224, 224, ("a", "b", "c"), (0.5,) * 3, (0.5,) * 3)


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads for every candidate")
    parser.add_argument("--runs", type=int, default=40, help="timed calls per candidate at batch 1")
    parser.add_argument("--batch", type=int, default=32, help="the big batch size")
    return parser.parse_args()


def plain(model: nn.Module) -> Runner:
    """The book's way: eval mode, no_grad, default memory format."""
    model.eval()

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(x)

    return run


def lightbox(predictor: Predictor) -> Runner:
    """Predictor's forward pass, as Predictor.probabilities runs it."""

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return predictor.model(x.contiguous(memory_format=torch.channels_last))

    return run


def frozen(model: nn.Module, example: torch.Tensor) -> Runner:
    """TorchScript traced, frozen and optimised for inference (folds BN into convs)."""
    with torch.no_grad():
        scripted = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model.eval(), example)))

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return scripted(x)

    return run


def candidates(name: str) -> tuple[dict[str, Runner], InputSpec]:
    """Return the runners to compare for one model name, and its input spec."""
    if name == "imagenet":
        from core.models.efficientnet_lite import efficientnet_lite0

        predictor = Predictor.pretrained("imagenet")
        return {"eager": plain(efficientnet_lite0(pretrained=True)), "lightbox": lightbox(predictor)}, predictor.spec
    spec = PHOTO if name.startswith("lite0") else DIGITS
    model = build_model(ModelConfig(name), spec).eval()
    example = torch.rand(1, spec.channels, spec.height, spec.width)
    served = serving_model(copy.deepcopy(model))  # what Predictor.from_run serves
    runners = {"eager": plain(model), "lightbox": lightbox(Predictor(served, spec, name))}
    runners["torchscript"] = frozen(model, example)
    return runners, spec


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, batch 1 median of {args.runs}, batch {args.batch}")
    header = f"{'model':<16}{'candidate':<13}{'batch 1 ms':>11}{'vs eager':>10}{'img/s @' + str(args.batch):>12}"
    print(header)
    print("-" * len(header))
    for name in ("simple", "cnn", "resnet18", "lite0_transfer", "imagenet"):
        runners, spec = candidates(name)
        one = time_round_robin(runners, torch.rand(1, spec.channels, spec.height, spec.width), args.runs)
        big_x = torch.rand(args.batch, spec.channels, spec.height, spec.width)
        big = time_round_robin(runners, big_x, max(3, args.runs // 8))
        for candidate in runners:
            ratio = one["eager"] / one[candidate]
            throughput = args.batch / big[candidate] * 1000
            print(f"{name:<16}{candidate:<13}{one[candidate]:>11.3f}{ratio:>9.2f}x{throughput:>12,.0f}")


if __name__ == "__main__":
    main()
