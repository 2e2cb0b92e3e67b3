"""Evaluate runs on their validation images: mistakes, two-run significance, ensembles and speed."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.cache import LoadCache
from core.data.base import ImageDataset, train_val_split
from core.data.registry import load_dataset
from core.errors import DatasetError, LightboxError, UnknownNameError
from core.inference import Predictor, serving_model
from core.models.registry import eval_mode
from core.prepare import InputSpec
from core.runs import RunInfo, RunStore
from core.training import infer

__all__ = [
    "McNemarResult",
    "ValidationPredictions",
    "check_same_validation",
    "ensemble",
    "mcnemar",
    "pareto_front",
    "predict_validation",
    "speed_and_size",
    "validation_set",
]


@dataclass(frozen=True)
class ValidationPredictions:
    """What one model (or an ensemble) says about every validation image of a run's dataset."""

    name: str
    classes: tuple[str, ...]
    probabilities: np.ndarray  # (N, K) float32, rows sum to 1
    labels: np.ndarray  # (N,) int64

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)  # (N,)

    @property
    def correct(self) -> np.ndarray:
        return self.predictions == self.labels  # (N,) bool

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean()) if len(self.labels) else float("nan")

    @property
    def loss(self) -> float:
        """Mean cross-entropy of the true classes."""
        true_p = self.probabilities[np.arange(len(self.labels)), self.labels]
        return float(-np.log(np.clip(true_p, 1e-12, 1.0)).mean()) if len(self.labels) else float("nan")

    def confusion(self) -> np.ndarray:
        """Return counts (true class, predicted class) as a (K, K) int array."""
        k = len(self.classes)
        return np.bincount(self.labels * k + self.predictions, minlength=k * k).reshape(k, k)

    def cell(self, true: int, predicted: int) -> np.ndarray:
        """Return the indices of validation images of class `true` that the model called `predicted`."""
        return np.flatnonzero((self.labels == true) & (self.predictions == predicted))

    def top_losses(self, k: int = 12) -> np.ndarray:
        """Return the indices of the k most confidently wrong images, worst first."""
        wrong = np.flatnonzero(~self.correct)
        true_p = self.probabilities[wrong, self.labels[wrong]]
        return wrong[np.argsort(true_p, kind="stable")][:k]


def validation_set(run: RunInfo) -> ImageDataset:
    """Return the validation images a run was evaluated on, checking they are the same images."""
    try:
        dataset = load_dataset(run.config.data)
    except UnknownNameError as exc:  # an imported dataset deleted since: the run and its numbers are kept
        if run.metrics.get("int8_of") == run.dataset:  # the built-in model's int8 copy ("imagenet" both)
            raise DatasetError(
                f"'{run.name}' is an int8 copy of the built-in model, which was not trained here, so there are no "
                f"validation images to score it on; it gives the original's answer on "
                f"{run.metrics.get('agreement', 0):.1%} of {run.metrics.get('agreement_images', 0)} photos."
            ) from exc
        raise DatasetError(
            f"Run '{run.name}' was trained on '{run.dataset}', a dataset deleted since, so its validation images "
            "are gone: its numbers and curves are kept, but its images cannot be shown or scored again."
        ) from exc
    if run.fingerprint and dataset.fingerprint() != run.fingerprint:
        raise DatasetError(
            f"The images of dataset '{run.dataset}' changed after run '{run.name}' was trained, "
            "so its validation images cannot be found again."
        )
    return train_val_split(dataset, run.config.data)[1]


def predict_validation(store: RunStore, run_id: str) -> ValidationPredictions:
    """Run a run's model over its validation images and return every class probability."""
    run = store.get_run(run_id)
    val = validation_set(run)
    predictor = Predictor.from_run(store, run_id)
    logits = infer(predictor.model, val.images)  # (N, K)
    return ValidationPredictions(
        name=run.name,
        classes=tuple(val.classes),
        probabilities=torch.softmax(logits, dim=1).cpu().numpy().astype(np.float32),
        labels=val.labels.cpu().numpy().astype(np.int64),
    )


def check_same_validation(runs: Sequence[RunInfo]) -> None:
    """Raise a LightboxError unless the runs were validated on the same images with the same classes."""
    first = runs[0]
    for run in runs[1:]:
        same = (
            run.fingerprint == first.fingerprint
            and run.config.data.val_fraction == first.config.data.val_fraction
            and run.config.data.split_seed == first.config.data.split_seed
            and (run.input_spec or {}).get("classes") == (first.input_spec or {}).get("classes")
        )
        if not same:
            raise LightboxError(
                f"Runs '{first.name}' and '{run.name}' were not validated on the same images "
                "(different data, split or classes), so they cannot be compared image by image."
            )


def ensemble(members: Sequence[ValidationPredictions], name: str = "ensemble") -> ValidationPredictions:
    """Average the members' class probabilities image by image: the ensemble's own predictions."""
    if len(members) < 2:
        raise LightboxError("An ensemble needs at least two models.")
    first = members[0]
    if any(m.classes != first.classes or not np.array_equal(m.labels, first.labels) for m in members[1:]):
        raise LightboxError("The models of an ensemble must share their classes and validation images.")
    probs = np.mean(np.stack([m.probabilities for m in members]), axis=0)  # (N, K)
    return ValidationPredictions(name, first.classes, probs.astype(np.float32), first.labels)


@dataclass(frozen=True)
class McNemarResult:
    """Counts of images where two models disagree on correctness, and how surprising the split is."""

    both_right: int
    only_a: int  # A right, B wrong
    only_b: int  # B right, A wrong
    both_wrong: int
    p_value: float
    method: str  # "exact binomial" or "chi-squared with continuity correction"

    def significant(self, level: float = 0.05) -> bool:
        """Return whether a split this uneven is unlikely to be luck (p below `level`)."""
        return self.p_value < level


def mcnemar(a_correct: Sequence[bool] | np.ndarray, b_correct: Sequence[bool] | np.ndarray) -> McNemarResult:
    """Test whether two models' accuracies on the same images differ by more than chance (McNemar)."""
    a, b = np.asarray(a_correct, dtype=bool), np.asarray(b_correct, dtype=bool)
    if a.shape != b.shape:
        raise LightboxError("McNemar's test needs both models' results on the same images.")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    n = only_a + only_b
    if n <= 50:  # exact: under "no difference", each disagreement is a fair coin
        tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2**n if n else 1.0
        p, method = min(1.0, 2 * tail), "exact binomial"
    else:
        stat = (abs(only_a - only_b) - 1) ** 2 / n
        p, method = math.erfc(math.sqrt(stat / 2)), "chi-squared with continuity correction"
    return McNemarResult(int((a & b).sum()), only_a, only_b, int((~a & ~b).sum()), p, method)


@torch.inference_mode()
def measure_latency(model: nn.Module, spec: InputSpec, repeats: int = 30, budget_s: float = 1.5) -> float:
    """Return the median milliseconds for one image through the model on the CPU (batch 1)."""
    device = next(iter([*model.parameters(), *model.buffers()]), torch.empty(0)).device  # int8: buffers only
    if device.type != "cpu":
        raise LightboxError("Latency is measured on the CPU; move the model there first.")
    x = torch.rand(1, spec.channels, spec.height, spec.width, generator=torch.Generator().manual_seed(0))
    x = x.contiguous(memory_format=torch.channels_last)  # its own generator: torch's shared one is training's
    times: list[float] = []
    with eval_mode(model):
        for _ in range(3):  # warm-up: allocator, oneDNN kernels
            model(x)
        deadline = time.perf_counter() + budget_s
        while len(times) < repeats and (len(times) < 5 or time.perf_counter() < deadline):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


_LATENCIES: LoadCache[tuple[str, int, int, int, int], float] = LoadCache(max_entries=64)  # see speed_metrics


def speed_metrics(model: nn.Module, spec: InputSpec, weights: Path) -> dict[str, float]:
    """Return the CPU latency (batch 1, ms) of a model as Predictor serves it, and its weights' size (MB).

    The latency is measured once per architecture (the module tree, head included), input size and torch
    thread count in a process: what the weights hold does not change the time. A Teach retrain spent 0.8 of
    its 1.4 s measuring its 14 MB network again after training the head (one core).
    """

    def measure() -> float:
        served = serving_model(copy.deepcopy(model).cpu())  # a copy: serving changes the model in place
        return round(measure_latency(served, spec), 3)

    key = (repr(model), spec.channels, spec.height, spec.width, torch.get_num_threads())
    return {"latency_ms": _LATENCIES.get(key, measure), "size_mb": round(weights.stat().st_size / 1e6, 3)}


def speed_and_size(store: RunStore, run_id: str) -> dict[str, float]:
    """Measure a run's latency and size now (runs from before these were recorded) and keep them."""
    predictor = Predictor.from_run(store, run_id)
    found = speed_metrics(predictor.model, predictor.spec, store.weights_path(run_id))
    store.update_metrics(run_id, found)
    return found


def pareto_front(costs: Sequence[float], scores: Sequence[float]) -> list[int]:
    """Return the indices of points no other point beats (cheaper or equal and better or equal), cheapest first."""
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -scores[i]))
    front: list[int] = []
    for i in order:
        if not front or scores[i] > scores[front[-1]]:
            front.append(i)
    return front
