"""train_run(): data, model, fit and run store joined up; the one path the CLI and the dashboard share."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch.nn.functional as F
from torch import nn

from core.callbacks import Callback, TrainState
from core.config import RunConfig
from core.data.base import ImageDataset, train_val_split
from core.data.registry import load_dataset
from core.devices import select_device, training_device
from core.evaluation import speed_metrics
from core.features import FeatureSet, cached_features, uses_cached_features
from core.job_memory import check_job_memory, estimate_job_memory
from core.lr_finder import LRFinderResult, find_lr
from core.metrics import accuracy, confusion_matrix
from core.models.registry import MODELS, Classifier, build_model, count_parameters
from core.parallel import DistContext, end_distributed, rank_batch_size, start_distributed
from core.prepare import InputSpec
from core.runs import RunInfo, RunStore
from core.training import check_config, fit, infer
from core.version import code_version

__all__ = ["batches_per_epoch", "find_lr_for", "input_spec_for", "train_run"]


def input_spec_for(train: ImageDataset) -> InputSpec:
    """Describe the inputs a model trained on `train` expects, normalised by its pixel statistics."""
    mean, std = train.channel_stats()
    height, width = train.image_size
    return InputSpec(
        channels=train.channels,
        height=height,
        width=width,
        classes=train.classes,
        mean=tuple(mean),
        std=tuple(std),
        dark_background=train.dark_background,
    )


@dataclass(frozen=True)
class PreparedRun:
    """A config turned into data and a freshly initialised model, ready for fit() or the LR finder."""

    train: ImageDataset
    val: ImageDataset
    spec: InputSpec
    model: Classifier
    fingerprint: str


def prepare_run(config: RunConfig) -> PreparedRun:
    """Check the settings, load and split the data, and build the seeded model, before anything is recorded."""
    check_config(config.train)
    device = training_device(config.train.device, config.train.precision)
    dataset = load_dataset(config.data)
    train, val = train_val_split(dataset, config.data)
    spec = input_spec_for(train)
    if config.model.name in MODELS and MODELS[config.model.name].normalization is not None:
        mean, std = MODELS[config.model.name].normalization  # a pretrained backbone's own
        spec = replace(spec, mean=(mean,) * spec.channels, std=(std,) * spec.channels)
    model = build_model(config.model, spec, seed=config.train.seed)
    if device.type == "cpu":  # refused before it starts, not killed by the system halfway (a GPU has its own memory)
        need = estimate_job_memory(model, spec.channels, spec.height, spec.width, config.train)
        check_job_memory(need, MODELS[config.model.name].title if config.model.name in MODELS else config.model.name)
    return PreparedRun(train, val, spec, model, dataset.fingerprint())


def find_lr_for(config: RunConfig, progress: Callable[[int, int], None] | None = None) -> LRFinderResult:
    """Run the learning-rate finder on the model and data a config describes."""
    prepared = prepare_run(config)
    return find_lr(prepared.model, prepared.train, config.train, progress=progress)


def batches_per_epoch(config: RunConfig) -> int:
    """Return how many training batches one epoch of this config has."""
    train, _ = train_val_split(load_dataset(config.data), config.data)
    return math.ceil(len(train) / max(config.train.batch_size, 1))


def _what_learns(
    config: RunConfig, prepared: PreparedRun
) -> tuple[nn.Module, ImageDataset | FeatureSet, ImageDataset | FeatureSet]:
    """Return the module fit() trains and its data: the model on images, or only its head on cached features."""
    model = prepared.model
    if not uses_cached_features(model, config.train):
        return model, prepared.train, prepared.val
    model.to(select_device(config.train.device))
    key = (config.model.name, prepared.fingerprint, config.data.val_fraction, config.data.split_seed)
    train = cached_features(model, prepared.train, (*key, "train"))
    val = cached_features(model, prepared.val, (*key, "val"))
    return model.net.head, train, val


CHECKPOINT_SHARE = 0.1  # at most this share of training's time goes to writing checkpoints


class StoreCallback(Callback):
    """Write each epoch's row to the run store as the epoch ends, and a checkpoint as often as is cheap.

    A checkpoint follows the first epoch, then the first epoch to end once training has run nine times as
    long as the last write took; save() writes the final one. Most epochs take far longer than a write, so
    each is kept. A head trained on cached features runs an epoch in a few milliseconds, and writing the
    whole model (14 MB) after each of Teach's 20 took about a third of a retrain (benchmarks/teach_speed.py).
    A process killed mid-run keeps its history and a checkpoint at most that much training older.
    """

    def __init__(self, store: RunStore, run_id: str, model: Classifier, meta: dict[str, Any]) -> None:
        self.store, self.run_id, self.model, self.meta = store, run_id, model, meta
        self.unsaved = True  # the model differs from the checkpoint on disk (or there is none yet)
        self._next = 0.0  # time.monotonic() from which the next epoch's end writes a checkpoint

    def on_batch_end(self, state: TrainState) -> None:
        self.unsaved = True

    def on_epoch_end(self, state: TrainState) -> None:
        self.store.log_epoch(self.run_id, state.history.last or {})
        if time.monotonic() >= self._next:
            self.save()

    def save(self) -> None:
        """Write the whole model (not only a head that learns) as the run's checkpoint."""
        started = time.monotonic()
        self.store.save_weights(self.run_id, self.model.state_dict(), self.meta)
        ended = time.monotonic()
        self._next = ended + (ended - started) * (1 / CHECKPOINT_SHARE - 1)
        self.unsaved = False


def final_metrics(
    model: nn.Module,
    val: ImageDataset | FeatureSet,
    rows: list[dict[str, float]],
    seconds: float,
    precision: str = "fp32",
    stopped: bool = False,
) -> dict[str, Any]:
    """Summarise a finished fit: last and best epoch, time, and the validation confusion matrix.

    A fit stopped mid-epoch kept weights that moved on from its last epoch's check: its validation loss and
    accuracy are those of the weights kept (what Compare and every export then measure), not the last epoch's,
    and its best is theirs, in the epoch it was stopped in, when they beat every whole epoch.
    """
    metrics: dict[str, Any] = {"epochs_completed": len(rows), "train_seconds": round(seconds, 3)}
    if rows:
        last = rows[-1]
        best = max(rows, key=lambda r: r["val_accuracy"])
        metrics.update({k: last[k] for k in ("val_accuracy", "val_loss", "train_accuracy", "train_loss")})
        metrics.update({"best_val_accuracy": best["val_accuracy"], "best_epoch": int(best["epoch"])})
        metrics["images_per_second"] = sum(r["images_per_second"] for r in rows) / len(rows)
    logits = infer(model, val.images, precision=precision)
    labels = val.labels.to(logits.device)
    if stopped and len(labels):
        metrics["val_loss"], metrics["val_accuracy"] = F.cross_entropy(logits, labels).item(), accuracy(logits, labels)
        if metrics["val_accuracy"] > metrics.get("best_val_accuracy", -1.0):  # the kept weights beat every epoch
            metrics["best_val_accuracy"], metrics["best_epoch"] = metrics["val_accuracy"], len(rows) + 1
    metrics["confusion_matrix"] = confusion_matrix(logits.argmax(dim=1), labels, len(val.classes)).tolist()
    return metrics


def train_run(
    config: RunConfig,
    store: RunStore,
    callbacks: Sequence[Callback] = (),
    stop: threading.Event | None = None,
    on_created: Any = None,
    dist: DistContext | None = None,
) -> RunInfo:
    """Train the configured model and keep everything in `store`; return the finished run.

    Settings and data are checked before the run is recorded, so a bad request leaves no run behind;
    once recorded, a run ends as finished, stopped or failed, never silently lost. Under `dist` this is
    rank 0 of a torchrun job: the other processes train beside it with train_unrecorded().
    """
    prepared = prepare_run(config)
    model, spec = prepared.model, prepared.spec
    run = store.create_run(
        config,
        input_spec=spec.to_dict(),
        params=count_parameters(model),
        fingerprint=prepared.fingerprint,
        code_version=code_version(),
        device=str(dist.device if dist else training_device(config.train.device, config.train.precision)),
    )
    if on_created is not None:
        on_created(run)
    meta = {"model": config.model.to_dict(), "input_spec": spec.to_dict(), "run_id": run.id}
    saver = StoreCallback(store, run.id, model, meta)
    try:
        learner, fit_train, fit_val = _what_learns(config, prepared)
        result = fit(learner, fit_train, fit_val, config.train, [saver, *callbacks], stop, dist)
        if saver.unsaved:
            saver.save()
        rows = result.history.rows
        metrics = final_metrics(learner, fit_val, rows, result.seconds, config.train.precision, result.stopped)
        metrics["world_size"] = dist.world_size if dist else 1
        metrics.update(speed_metrics(model, spec, store.weights_path(run.id)))
    except KeyboardInterrupt:  # Ctrl-C, or a notebook's interrupt: the epochs trained so far are kept
        epochs = len(store.history(run.id))
        store.finish_run(
            run.id, "interrupted", store.get_run(run.id).metrics, f"Interrupted after {epochs} epochs (Ctrl-C)."
        )
        raise
    except BaseException as exc:
        store.finish_run(run.id, "failed", error=str(exc) or type(exc).__name__)
        raise
    store.finish_run(run.id, "stopped" if result.stopped else "finished", metrics)
    return store.get_run(run.id)


def train_unrecorded(config: RunConfig, dist: DistContext) -> None:
    """Train beside rank 0 as another process of a torchrun job, recording nothing (rank 0 keeps the run)."""
    prepared = prepare_run(config)
    learner, fit_train, fit_val = _what_learns(config, prepared)
    fit(learner, fit_train, fit_val, config.train, dist=dist)


def train_distributed(config: RunConfig, store: RunStore, callbacks: Sequence[Callback] = ()) -> RunInfo | None:
    """Train as one process of a torchrun job; rank 0 records the run and returns it, the others return None."""
    ctx = start_distributed(config.train.device, config.train.precision)
    try:
        rank_batch_size(config.train.batch_size, ctx.world_size)
        if ctx.is_main:
            return train_run(config, store, callbacks, dist=ctx)
        train_unrecorded(config, ctx)
        return None
    finally:
        end_distributed()
