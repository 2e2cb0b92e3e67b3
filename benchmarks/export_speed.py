"""Exported models against the eager model they came from: export time, file size, CPU latency.

  eager:       the run's model in PyTorch (Predictor.from_run), torch.inference_mode
  torchscript: the file from export_run(..., "torchscript"), loaded with torch.jit.load
  onnx:        the file from export_run(..., "onnx"), run by onnxruntime's CPU provider

Run: python benchmarks/export_speed.py [--models cnn,lite0_transfer --repeats 30 --threads N]
Trains a one-epoch run per model in a temporary home (cnn on digits, Lite0 on 16 px shapes), then
prints per format: export seconds, file MB, median ms at batch 1 and 32 (interleaved), and the
ratio eager / format (above 1: the file is faster than eager PyTorch).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from timing import time_round_robin

from core import DataConfig, ModelConfig, Predictor, RunConfig, RunStore, TrainConfig, train_run
from core.export import EXPORT_FORMATS, export_run

DATA = {"cnn": DataConfig("digits"), "lite0_transfer": DataConfig("shapes", samples=100, image_size=16)}


def runner(fmt: str, path: Path | None, predictor: Predictor) -> Callable[[np.ndarray], object]:
    """Return a function that runs one batch through the model in the given form."""
    if fmt == "eager":
        return lambda x: predictor.model(torch.from_numpy(x))
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(str(path))
        return lambda x: module(torch.from_numpy(x))
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"images": x})


def bench(store: RunStore, model: str, out: Path, repeats: int) -> None:
    run = train_run(RunConfig(DATA[model], ModelConfig(model), TrainConfig(epochs=1, batch_size=32)), store)
    predictor = Predictor.from_run(store, run.id, fast=False)
    paths, seconds = {}, {}
    for fmt, ext in EXPORT_FORMATS.items():
        start = time.perf_counter()
        paths[fmt] = export_run(store, run.id, fmt, out / f"{model}.{ext}")
        seconds[fmt] = time.perf_counter() - start
    fns = {fmt: runner(fmt, paths.get(fmt), predictor) for fmt in ("eager", *EXPORT_FORMATS)}
    spec = predictor.spec
    for batch in (1, 32):
        x = np.random.rand(batch, spec.channels, spec.height, spec.width).astype(np.float32)  # (B, C, H, W)
        with torch.inference_mode():
            ms = time_round_robin(fns, x, repeats, warmup=1)
        for fmt, value in ms.items():
            extra = f"export {seconds[fmt]:5.1f} s  {paths[fmt].stat().st_size / 1e6:5.2f} MB" if fmt in paths else ""
            print(f"{model:<15} batch {batch:>2}  {fmt:<12} {value:8.2f} ms  x{ms['eager'] / value:4.2f}  {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="cnn,lite0_transfer")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads")
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "home")
        for model in args.models.split(","):
            bench(store, model, Path(tmp), args.repeats)


if __name__ == "__main__":
    main()
