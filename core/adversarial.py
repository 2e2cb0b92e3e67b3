"""Fool a classifier: FGSM images that look unchanged to people yet change the model's answer."""

from __future__ import annotations

import copy
import math
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from core.errors import LightboxError
from core.explain import loss_gradient
from core.inference import Predictor, prepare_image
from core.models.efficientnet_lite import PrepackedConv
from core.prepare import Classification, top_classes

__all__ = ["LEVELS", "SEARCH_EPSILONS", "Attack", "attack", "smallest_flip"]

LEVELS = 255  # images are saved with 8 bits per channel: a perturbation moves pixels by whole steps
SEARCH_EPSILONS: tuple[float, ...] = tuple(k / LEVELS for k in (1, 2, 3, 4, 6, 8, 11, 15, 20, 25))

_eager_copies: weakref.WeakKeyDictionary[nn.Module, nn.Module] = weakref.WeakKeyDictionary()
_eager_lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class Attack:
    """An adversarial image beside its original, and what the model said about each."""

    original: Image.Image  # the image as the model receives it (input size, channels)
    perturbation: Image.Image  # the change, amplified to be visible: grey is "unchanged"
    adversarial: Image.Image  # original + change: a real 8-bit image, safe to save as PNG
    before: Classification
    after: Classification
    epsilon: float  # the largest change of any pixel, in [0, 1] units
    label: int  # the class the attack pushes away from
    target: int | None  # the class it pushes towards, if any
    probabilities_before: np.ndarray  # (classes,)
    probabilities_after: np.ndarray  # (classes,)

    @property
    def fooled(self) -> bool:
        """Say whether the answer changed (to the target, for a targeted attack)."""
        answer = self.after.predictions[0].index
        return answer == self.target if self.target is not None else answer != self.before.predictions[0].index

    def probability(self, index: int) -> tuple[float, float]:
        """Return the probability of class `index` before and after the attack."""
        return float(self.probabilities_before[index]), float(self.probabilities_after[index])


def differentiable_model(model: nn.Module) -> nn.Module:
    """Return the model itself, or an eager copy (built once) where it runs oneDNN-prepacked convolutions."""
    if not any(isinstance(m, PrepackedConv) for m in model.modules()):
        return model
    with _eager_lock:
        eager = _eager_copies.get(model)
        if eager is None:
            # Each PrepackedConv copied as its BN-folded eager block: same weights, same logits, with a backward.
            memo: dict[int, object] = {id(m): m.block for m in model.modules() if isinstance(m, PrepackedConv)}
            eager = copy.deepcopy(model, memo).eval()
            _eager_copies[model] = eager
    return eager


def _to_image(x: torch.Tensor) -> Image.Image:
    """Return a (C, H, W) tensor in [0, 1] as an 8-bit L or RGB image."""
    arr = x.mul(LEVELS).round().clamp(0, LEVELS).byte().permute(1, 2, 0).numpy()  # (H, W, C)
    return Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)


def _amplified(delta: torch.Tensor) -> Image.Image:
    """Return a (C, H, W) change as an image: mid-grey is zero, lighter and darker are the two signs."""
    peak = float(delta.abs().max())
    return _to_image(0.5 + delta / (2 * peak) if peak > 0 else torch.full_like(delta, 0.5))


def _probabilities(predictor: Predictor, x: torch.Tensor) -> tuple[np.ndarray, float]:
    """Return class probabilities (classes,) for one image (1, C, H, W), and the milliseconds taken."""
    start = time.perf_counter()
    probs = predictor.tensor_probabilities(x)
    return probs, (time.perf_counter() - start) * 1000


def fgsm_direction(model: nn.Module, x: torch.Tensor, label: int, target: int | None = None) -> torch.Tensor:
    """Return the FGSM step (B, C, H, W) of +-1 for x in [0, 1]: away from `label`, or towards `target`."""
    if target is None:
        return loss_gradient(model, x, label).sign()
    return -loss_gradient(model, x, target).sign()


def _direction(predictor: Predictor, x: torch.Tensor, label: int, target: int | None) -> torch.Tensor:
    """Return the FGSM step (1, C, H, W) for a predictor, through its differentiable copy."""
    return fgsm_direction(differentiable_model(predictor.model), x, label, target)


def _check_class(predictor: Predictor, index: int | None) -> None:
    if index is not None and not 0 <= index < len(predictor.classes):
        raise LightboxError(f"Class number {index} does not exist: this model knows {len(predictor.classes)} classes.")


def _build(
    predictor: Predictor,
    x: torch.Tensor,
    step: torch.Tensor,
    epsilon: float,
    before: tuple[np.ndarray, float],
    label: int,
    target: int | None,
    top_k: int,
) -> Attack:
    """Apply an epsilon-sized step (1, C, H, W) to x (1, C, H, W) and classify the result."""
    levels = math.floor(epsilon * LEVELS + 1e-6)  # whole 8-bit steps, never more than epsilon
    adversarial = (x + step * levels / LEVELS).mul(LEVELS).round().clamp(0, LEVELS).div(LEVELS)  # (1, C, H, W)
    after = _probabilities(predictor, adversarial)
    return Attack(
        original=_to_image(x[0]),
        perturbation=_amplified(adversarial[0] - x[0]),
        adversarial=_to_image(adversarial[0]),
        before=top_classes(before[0], predictor.classes, top_k, before[1]),
        after=top_classes(after[0], predictor.classes, top_k, after[1]),
        epsilon=levels / LEVELS,
        probabilities_before=before[0],
        probabilities_after=after[0],
        label=label,
        target=target,
    )


def attack(
    predictor: Predictor,
    image: Image.Image,
    epsilon: float,
    target: int | None = None,
    label: int | None = None,
    top_k: int = 3,
) -> Attack:
    """Nudge every pixel by at most epsilon (in [0, 1]) to push the model away from `label` or towards `target`.

    `label` defaults to the model's answer for the untouched image.
    """
    if not 0 <= epsilon <= 1:
        raise LightboxError(f"The attack strength must be between 0 and 1, not {epsilon}.")
    _check_class(predictor, target)
    _check_class(predictor, label)
    x = prepare_image(image, predictor.spec)  # (1, C, H, W) in [0, 1]
    before = _probabilities(predictor, x)
    label = int(before[0].argmax()) if label is None else int(label)
    step = _direction(predictor, x, label, target)  # (1, C, H, W)
    return _build(predictor, x, step, epsilon, before, label, target, top_k)


def smallest_flip(
    predictor: Predictor,
    image: Image.Image,
    epsilons: Sequence[float] = SEARCH_EPSILONS,
    target: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Attack | None:
    """Return the attack with the smallest epsilon that changes the answer, or None if none of them does."""
    _check_class(predictor, target)
    x = prepare_image(image, predictor.spec)  # (1, C, H, W) in [0, 1]
    before = _probabilities(predictor, x)
    label = int(before[0].argmax())
    step = _direction(predictor, x, label, target)  # FGSM's direction does not depend on epsilon
    for done, epsilon in enumerate(sorted(epsilons), start=1):
        result = _build(predictor, x, step, epsilon, before, label, target, top_k=3)
        if progress is not None:
            progress(done, len(epsilons))
        if result.fooled:
            return result
    return None
