"""int8 runs: quantize a trained run (or the built-in ImageNet model) into a new run, and load one back.

An int8 run keeps its float architecture's config and the quantized state dict (weights_only loading);
loading rebuilds the float skeleton, converts it to the same int8 graph and loads the state dict into it.
Its metrics say how it compares with its fp32 original: size, latency and top-1 agreement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from core.errors import WeightsError
from core.evaluation import measure_latency
from core.inference import Predictor, prepare_image
from core.models.registry import count_parameters
from core.quantize import IMAGENET_MODEL, agreement, int8_meta, int8_scheme, quantize_model
from core.runs import RunInfo, RunStore
from core.version import code_version

IMAGENET = "imagenet"
# Calibration runs in batches of 8: each batch adds its own sample of every activation, so four batches of 8 see
# four times the values one batch of 32 does (Lite0: 213/216 photos agree with fp32, against 211), with less
# memory held at once; the same batches `benchmarks/quantization.py` measures.
CALIBRATION_BATCH = 8
CALIBRATION_IMAGES = 256  # training images the activation ranges are measured on
Progress = Callable[[str, float], None]  # (stage, share done in [0, 1])


def is_int8(run: RunInfo) -> bool:
    """Say whether a run is an int8 copy of another."""
    return run.config.model.quantization == "int8"


def _images(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(255.0)  # uint8 (N, C, H, W) -> [0, 1]


@dataclass(frozen=True)
class _Source:
    """What quantizing needs: the fp32 model, the new run's config, calibration and check images in [0, 1]."""

    fp32: Predictor
    config: RunConfig
    calibration: torch.Tensor  # (N, C, H, W)
    check: torch.Tensor  # (M, C, H, W)
    labels: torch.Tensor | None  # (M,) for validation images; None for the photo set
    fingerprint: str | None = None


def _imagenet_source() -> _Source:
    """Return the built-in Lite0, calibrated on some photos and checked on the fixed photo set."""
    from core.data.photos import calibration_photos, check_photos

    fp32 = Predictor.pretrained(IMAGENET)
    calibration = torch.cat([prepare_image(p, fp32.spec) for p in calibration_photos()])  # (32, 3, 224, 224)
    check = torch.cat([prepare_image(p, fp32.spec) for p in check_photos()])  # (216, 3, 224, 224)
    model = ModelConfig(IMAGENET_MODEL, quantization="int8")
    config = RunConfig(DataConfig(name=IMAGENET), model, TrainConfig(epochs=1), name="EfficientNet-Lite0 · int8")
    return _Source(fp32, config, calibration, check, None)


def _run_source(store: RunStore, run_id: str) -> _Source:
    """Return a trained run's model, calibrated on its own training images and checked on its validation set."""
    from core.data.registry import load_dataset
    from core.evaluation import validation_set

    run = store.get_run(run_id)
    if is_int8(run):
        raise WeightsError(f"Run {run_id} is already int8; quantize its fp32 original instead.")
    fp32 = Predictor.from_run(store, run_id, fast=False)
    data = run.config.data
    train = load_dataset(data).split(data.val_fraction, data.split_seed)[0]
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:CALIBRATION_IMAGES]
    config = replace(run.config, model=replace(run.config.model, quantization="int8"), name=f"{run.name} · int8")
    val = validation_set(run)
    return _Source(fp32, config, _images(train.images[pick]), _images(val.images), val.labels, run.fingerprint)


def quantize_run(store: RunStore, source: str, progress: Progress | None = None) -> RunInfo:
    """Make an int8 copy of run `source` (or of `imagenet`, the built-in model) and keep it as a new run."""
    say = progress or (lambda stage, done: None)
    say("loading the fp32 model and images", 0.0)
    src = _imagenet_source() if source == IMAGENET else _run_source(store, source)
    spec, fp32 = src.fp32.spec, src.fp32.model
    say("calibrating on photos" if src.labels is None else "calibrating on training images", 0.1)
    int8 = quantize_model(fp32, (spec.channels, spec.height, spec.width), src.calibration.split(CALIBRATION_BATCH))
    say(f"comparing int8 with fp32 on {len(src.check)} images", 0.7)
    share = agreement(fp32, int8, src.check)
    run = store.create_run(
        src.config, input_spec=spec.to_dict(), params=count_parameters(fp32), code_version=code_version(),
        fingerprint=src.fingerprint, device="cpu",
    )  # fmt: skip
    meta = {"model": src.config.model.to_dict(), "input_spec": spec.to_dict(), "run_id": run.id}
    scheme = int8_scheme(int8)
    path = store.save_weights(run.id, int8.state_dict(), {**meta, "int8": int8_meta(source, scheme)})
    say("measuring latency", 0.9)
    metrics: dict[str, Any] = {
        "int8_of": source,
        "agreement": round(share, 4),
        "agreement_images": len(src.check),
        "size_mb": round(path.stat().st_size / 1e6, 3),
        "latency_ms": round(measure_latency(Predictor.from_run(store, run.id).model, spec), 3),  # as served
        "quantization": scheme,
    }
    if src.labels is not None:
        metrics["val_accuracy"] = _accuracy(int8, src.check, src.labels)
    store.finish_run(run.id, "finished", metrics)
    say("done", 1.0)
    return store.get_run(run.id)


def quantize_in_child(store: RunStore, source: str, progress: Progress | None = None) -> RunInfo:
    """quantize_run in a child process (core.child), as a server does: calibration's memory never stays in it."""
    from core.child import run_command
    from core.progress import read_progress_line

    if source != IMAGENET:
        store.get_run(source)  # one this store may see
    say = progress or (lambda stage, done: None)
    say("starting", 0.0)

    def line(text: str) -> None:  # the command's progress bar, one line per update
        if read := read_progress_line(text):
            done, stage = read
            say(stage or ("done" if done == 1 else "working"), done)

    what = "Making the int8 copy"
    printed = run_command(["quantize", source], store.home, what, workspace=store.viewer, on_line=line)
    run_id = next(row.split(": ", 1)[1] for row in printed.splitlines() if row.startswith("run_id: "))
    return store.get_run(run_id)


@torch.no_grad()
def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Return the share of images (N, C, H, W) the model labels right."""
    hits = sum(int((model(x).argmax(1) == y).sum()) for x, y in zip(images.split(64), labels.split(64), strict=True))
    return round(hits / max(len(labels), 1), 4)


__all__ = ["IMAGENET", "is_int8", "quantize_in_child", "quantize_run"]
