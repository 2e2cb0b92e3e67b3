"""Explain a classifier: Grad-CAM heatmaps of where it looks, and adversarial images that fool it."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.hooks import RemovableHandle

from core.errors import LightboxError
from core.models.efficientnet_lite import PrepackedConv

__all__: list[str] = []  # nothing here is part of core's public API

# Viridis sampled at 9 even steps: perceptually uniform, readable in grey, fine for colour-blind eyes.
_VIRIDIS = np.array(
    [
        [0x44, 0x01, 0x54],
        [0x47, 0x2C, 0x7A],
        [0x3B, 0x51, 0x8B],
        [0x2C, 0x71, 0x8E],
        [0x21, 0x90, 0x8D],
        [0x27, 0xAD, 0x81],
        [0x5C, 0xC8, 0x63],
        [0xAA, 0xDC, 0x32],
        [0xFD, 0xE7, 0x25],
    ],
    dtype=np.float32,
)
NO_CONV_MESSAGE = (
    "This model has no convolution layers to explain (the fully connected net looks at every pixel at once)."
)


NO_GRADIENT_MESSAGE = (
    "This model was optimised for fast predictions (an int8 copy, say) and cannot trace its answer back to the "
    "pixels; use a model trained in Lightbox, or the int8 copy's original, to make adversarial images."
)
INT8_EXPLAIN_MESSAGE = (
    "This model is an int8 copy, optimised for fast predictions: its layers cannot be looked inside or its "
    "answers traced back to the pixels here, so use its fp32 original instead."
)


def is_quantized(module: nn.Module) -> bool:
    """Say whether a module holds int8 layers (an int8 copy: no gradients, no float convolutions)."""
    return any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in module.modules())


CONVOLUTIONS = (nn.Conv2d, PrepackedConv)  # a prepacked one keeps its weights outside any nn.Conv2d


def has_conv(module: nn.Module) -> bool:
    """Say whether a module holds a convolution anywhere inside."""
    return any(isinstance(m, CONVOLUTIONS) for m in module.modules())


def target_layer(model: nn.Module) -> nn.Module:
    """Return the last convolutional stage, whose output is the final spatial feature map."""
    # Descend through wrappers (Classifier.net, SmallCNN.features, TransferNet.backbone) while only one
    # child holds convolutions; where several do, the last one is the final stage before global pooling.
    node = model
    while True:
        convs = [child for child in node.children() if has_conv(child)]
        if not convs:
            if isinstance(node, CONVOLUTIONS):
                return node
            raise LightboxError(INT8_EXPLAIN_MESSAGE if is_quantized(model) else NO_CONV_MESSAGE)
        if len(convs) > 1:
            return convs[-1]
        only = convs[0]
        if not any(True for _ in only.children()):  # a bare conv: explain the block around it
            return node if node is not model else only
        node = only


@contextmanager
def _explaining(model: nn.Module) -> Iterator[list[RemovableHandle]]:
    """Run the model in eval mode with autograd on; restore every module's mode and remove hooks after."""
    modes = {m: m.training for m in model.modules()}
    handles: list[RemovableHandle] = []
    try:
        model.eval()
        with torch.enable_grad():
            yield handles
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes.items():
            m.training = training


def grad_cam(model: nn.Module, x: torch.Tensor, target: int | None = None) -> tuple[np.ndarray, int]:
    """Return a Grad-CAM heatmap (H, W) in [0, 1] for one image (1, C, H, W) in [0, 1], and its class."""
    layer = target_layer(model)
    saved: list[torch.Tensor] = []
    caller = threading.get_ident()  # a shared model may run for another session meanwhile: not our image

    def capture(_module: nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor | None:
        if threading.get_ident() != caller:
            return None  # leave other threads' passes untouched
        # A fresh leaf: gradients stop here, so frozen or prepacked layers before it need no backward.
        act = output.detach().requires_grad_(True)  # (1, K, h, w)
        saved.append(act)
        return act.clone()  # a clone, so in-place ops after the layer do not touch the leaf

    with _explaining(model) as handles:
        handles.append(layer.register_forward_hook(capture))
        logits = model(x.detach())  # (1, classes)
        index = int(logits.argmax(dim=1)[0]) if target is None else int(target)
        if not saved:
            raise LightboxError("The layer to explain was not used by this model's forward pass.")
        (grads,) = torch.autograd.grad(logits[0, index], saved[-1])  # (1, K, h, w)
    act = saved[-1].detach()
    weights = grads.mean(dim=(2, 3), keepdim=True)  # (1, K, 1, 1)
    cam = F.relu((weights * act).sum(dim=1, keepdim=True))  # (1, 1, h, w)
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]  # (H, W)
    cam = cam.clamp_min(0).nan_to_num(0.0)
    peak = float(cam.max())
    if peak > 0:
        cam = cam / peak
    return cam.float().cpu().numpy(), index


def colorize(heatmap: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (H, W) to viridis colours (H, W, 3) uint8."""
    stops = np.linspace(0.0, 1.0, len(_VIRIDIS))
    h = np.clip(np.nan_to_num(heatmap.astype(np.float32)), 0.0, 1.0)
    rgb = np.stack([np.interp(h, stops, _VIRIDIS[:, c]) for c in range(3)], axis=-1)  # (H, W, 3)
    return rgb.round().astype(np.uint8)


def overlay(image: Image.Image, heatmap: np.ndarray, alpha: float = 0.45) -> Image.Image:
    """Blend the coloured heatmap, resized to the image, over the image in RGB."""
    base = image.convert("RGB")
    resized = Image.fromarray(np.clip(heatmap, 0.0, 1.0).astype(np.float32), mode="F")
    resized = resized.resize(base.size, Image.Resampling.BILINEAR)
    colours = colorize(np.asarray(resized)).astype(np.float32)  # (H, W, 3)
    pixels = np.asarray(base, dtype=np.float32)  # (H, W, 3)
    blended = (1.0 - alpha) * pixels + alpha * colours
    return Image.fromarray(blended.clip(0, 255).round().astype(np.uint8), mode="RGB")


def loss_gradient(model: nn.Module, x: torch.Tensor, label: int) -> torch.Tensor:
    """Return the gradient (B, C, H, W) of the cross-entropy loss for class `label` with respect to the pixels x."""
    with _explaining(model):
        image = x.detach().clone().requires_grad_(True)  # (B, C, H, W)
        logits = model(image)  # (B, classes)
        labels = torch.full((x.shape[0],), int(label), dtype=torch.long, device=x.device)  # (B,)
        with warnings.catch_warnings():  # prepacked oneDNN convs have no backward: we report that below
            warnings.filterwarnings("ignore", message=".*autograd kernel was not registered")
            (grad,) = torch.autograd.grad(F.cross_entropy(logits, labels), image, allow_unused=True)  # (B, C, H, W)
    if grad is None:
        raise LightboxError(NO_GRADIENT_MESSAGE)
    return grad
