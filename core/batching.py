"""How many images one pass without gradients takes: as many as a small memory budget holds, measured per model.

Such a pass holds little more than one layer's input and output at a time, for every image in the batch, so
the batch follows from the widest layer, measured once per model and image shape by running one image.
A fixed batch cannot fit every model: the fine-tuned EfficientNet-Lite0 brings 16-pixel images to 224 inside
itself, and 512 of them at once peaked at +6.5 GB of RSS (12.7 s for 512 images), enough to kill a 1 GB host
from Compare or after a training epoch; in batches of 2, 800 images peak at +24 MB in 0.57x the time. Small CPU
models keep batches of up to 512 (`benchmarks/inference_batch.py` measures both). An accelerator's own memory
gets a larger budget (not measured here: this machine has no GPU).
"""

from __future__ import annotations

import threading
import weakref

import torch
from torch import nn

from core.models.registry import eval_mode

__all__ = ["inference_batch"]

INFERENCE_MB = 64  # what one batch's activations may take on the CPU
ACCELERATOR_MB = 1024  # and on a GPU, whose memory nothing else of the server's uses
MAX_BATCH = 512
# A pass peaked at 1.4-1.5x the widest layer's input and output for Lite0, 2.3-2.9x for the small CNNs and
# ResNet-18 (their saved inputs and residuals weigh more beside small layers): budget 3x.
HEADROOM = 3
_WIDEST: weakref.WeakKeyDictionary[nn.Module, dict[tuple[object, ...], int]] = weakref.WeakKeyDictionary()


@torch.inference_mode()
def widest_layer_bytes(model: nn.Module, image: torch.Tensor) -> int:
    """Return the bytes of the largest input plus output of any one layer, for one float image (C, H, W)."""
    widest, caller = 0, threading.get_ident()

    def hook(module: nn.Module, inputs: tuple[object, ...], output: object) -> None:
        nonlocal widest
        if threading.get_ident() == caller:  # not another thread's pass through the same model meanwhile
            tensors = [t for t in (*inputs, output) if isinstance(t, torch.Tensor)]
            widest = max(widest, sum(t.numel() * t.element_size() for t in tensors))

    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with eval_mode(model):  # one image: batch-norm in training mode would refuse it
            model(image.unsqueeze(0))
    finally:
        for handle in handles:
            handle.remove()
    return widest


def inference_batch(model: nn.Module, images: torch.Tensor, budget_mb: int | None = None) -> int:
    """Return how many of `images` (N, C, H, W) to run through `model` at once without gradients."""
    if len(images) <= 1:
        return 1
    device = next(model.parameters(), torch.empty(0)).device
    budget_mb = budget_mb or (INFERENCE_MB if device.type == "cpu" else ACCELERATOR_MB)
    key = (tuple(images.shape[1:]), device)
    per_model = _WIDEST.setdefault(model, {})
    if key not in per_model:
        per_model[key] = widest_layer_bytes(model, torch.zeros(images.shape[1:], device=device))
    per_image = max(HEADROOM * per_model[key], 1)
    return max(1, min(MAX_BATCH, (budget_mb << 20) // per_image, len(images)))
