"""The learning-rate finder: raise the rate batch by batch and suggest where the loss falls fastest."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.config import TrainConfig
from core.data.base import ImageDataset
from core.devices import select_device
from core.errors import TrainingError
from core.seeding import dropout_from
from core.training import check_config, make_optimizer, shuffled_batches

__all__: list[str] = []  # nothing here is part of core's public API

MIN_POINTS = 5  # fewer smoothed losses than this before the lowest one carry no readable slope
MIN_DROP = 0.02  # a curve whose loss falls by less than this fraction is flat


@dataclass(frozen=True)
class LRFinderResult:
    """The rates tried, the smoothed loss at each, the suggested rate (None if there is none) and why."""

    lrs: list[float]
    losses: list[float]  # exponentially smoothed, finite only; one per rate in lrs
    suggestion: float | None
    explanation: str


def find_lr(
    model: nn.Module,
    train: ImageDataset,
    cfg: TrainConfig,
    *,
    start_lr: float = 1e-6,
    end_lr: float = 1.0,
    steps: int = 100,
    smoothing: float = 0.05,
    diverge_factor: float = 4.0,
    progress: Callable[[int, int], None] | None = None,
) -> LRFinderResult:
    """Train a copy of `model` on `steps` batches at exponentially rising rates; suggest a rate.

    The caller's model, and torch's global random state, are left as they were. The sweep stops early once
    the smoothed loss exceeds `diverge_factor` times its best, or is not a finite number.
    """
    check_config(cfg)
    _check_sweep(train, start_lr, end_lr, steps, smoothing, diverge_factor)
    device = select_device(cfg.device)
    work = copy.deepcopy(model).to(device).train()
    optimizer = make_optimizer(work, cfg)
    rates = np.geomspace(start_lr, end_lr, steps).tolist()
    with dropout_from(work, torch.Generator().manual_seed(cfg.seed + 1)):  # as fit() draws its masks
        lrs, losses = _sweep(work, optimizer, _batches(train, cfg, device), rates, smoothing, diverge_factor, progress)
    suggestion, explanation = suggest_lr(lrs, losses)
    return LRFinderResult(lrs, losses, suggestion, explanation)


def _check_sweep(
    train: ImageDataset, start_lr: float, end_lr: float, steps: int, smoothing: float, diverge_factor: float
) -> None:
    """Raise TrainingError for sweep settings that cannot work."""
    problems = []
    if len(train) == 0:
        problems.append("the training set has no images")
    if not (math.isfinite(start_lr) and math.isfinite(end_lr) and 0 < start_lr < end_lr):
        problems.append(f"the start rate must be above 0 and below the end rate (got {start_lr} and {end_lr})")
    if not 2 <= steps <= 10_000:
        problems.append(f"steps must be 2 to 10,000 (got {steps})")
    if not 0 < smoothing <= 1:
        problems.append(f"smoothing must be above 0 and at most 1 (got {smoothing})")
    if not diverge_factor > 1:
        problems.append(f"the divergence factor must be above 1 (got {diverge_factor})")
    if problems:
        raise TrainingError("Cannot sweep the learning rate: " + "; ".join(problems) + ".")


def _batches(
    train: ImageDataset, cfg: TrainConfig, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield shuffled, augmented training batches on `device` forever, reshuffling after each pass."""
    gen = torch.Generator().manual_seed(cfg.seed)
    images, labels = train.images.to(device), train.labels.to(device)
    flip = not train.dark_background  # as in fit(): a mirrored digit is a different symbol
    while True:  # a short last batch is skipped: its loss is noisy
        yield from shuffled_batches(images, labels, cfg.batch_size, gen, cfg.augment, flip, drop_last=True)


def _sweep(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]],
    rates: list[float],
    smoothing: float,
    diverge_factor: float,
    progress: Callable[[int, int], None] | None,
) -> tuple[list[float], list[float]]:
    """Take one optimiser step per rate; return the rates used and the bias-corrected smoothed losses."""
    lrs: list[float] = []
    losses: list[float] = []
    avg, best = 0.0, math.inf
    for step, lr in enumerate(rates, start=1):
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = next(batches)
        loss = F.cross_entropy(model(x), y)
        avg = (1 - smoothing) * avg + smoothing * loss.item()
        smoothed = avg / (1 - (1 - smoothing) ** step)  # early steps would read low without the correction
        if not math.isfinite(smoothed):
            break
        lrs.append(lr)
        losses.append(smoothed)
        if progress is not None:
            progress(step, len(rates))
        best = min(best, smoothed)
        if smoothed > diverge_factor * best:
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return lrs, losses


def suggest_lr(lrs: list[float], losses: list[float]) -> tuple[float | None, str]:
    """Return the rate where the smoothed loss falls fastest before its lowest point, and why."""
    if not losses:
        return None, "The loss was not a finite number from the first step, so no rate can help: check the model."
    if len(losses) < MIN_POINTS:
        return None, f"The sweep gave only {len(losses)} usable steps, too few to read a slope: use more steps."
    low = int(np.argmin(losses))
    if low + 1 < MIN_POINTS:
        return None, (
            f"The loss was lowest at {_fmt(lrs[low])}, right at the start of the sweep, and rose after it: "
            "start the sweep at a lower rate."
        )
    falling = np.asarray(losses[: low + 1])
    if falling.max() - falling[-1] < MIN_DROP * abs(falling.max()):
        return None, (
            f"The loss barely changed between {_fmt(lrs[0])} and {_fmt(lrs[-1])}, so no rate stands out: "
            "try more steps or a higher end rate."
        )
    slopes = np.gradient(falling, np.log10(lrs[: low + 1]))  # loss change per tenfold rate
    rate = float(lrs[int(np.argmin(slopes))])
    if low == len(losses) - 1:
        return rate, (
            f"The loss falls fastest around {_fmt(rate)} and was still falling at {_fmt(lrs[-1])}, "
            "the end of the sweep."
        )
    return rate, (
        f"The loss falls fastest around {_fmt(rate)}, {_below(lrs[low] / rate)} {_fmt(lrs[low])}, "
        "where it stops falling and starts to blow up."
    )


def _fmt(lr: float) -> str:
    """Write a rate the short way, as 3e-3."""
    mantissa, exponent = f"{lr:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _below(ratio: float) -> str:
    """Say how far below a rate another one is, in words."""
    if ratio < 1.5:
        return "just below"
    words = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    n = round(ratio)
    return f"about {words[n - 2] if n <= 10 else n} times below"
