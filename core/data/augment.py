"""Augmentation presets applied to whole uint8 batches: one random affine and colour jitter per image."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.errors import DatasetError, UnknownNameError

__all__ = ["AUGMENTATIONS", "augment_batch", "augment_preview"]

AUGMENTATIONS: tuple[str, ...] = ("none", "light", "strong")


@dataclass(frozen=True)
class _Preset:
    """How far each random change may go."""

    translate: float  # largest shift, as a fraction of the image width or height
    zoom: float  # largest zoom-in, as a random-resized crop does (1.0: none)
    degrees: float  # largest rotation either way
    jitter: float  # largest relative change of brightness, contrast and saturation


_PRESETS: dict[str, _Preset] = {
    "light": _Preset(translate=0.1, zoom=1.15, degrees=0.0, jitter=0.0),
    "strong": _Preset(translate=0.1, zoom=1.15, degrees=15.0, jitter=0.3),
}


def augment_batch(images: torch.Tensor, preset: str, generator: torch.Generator, flip: bool = True) -> torch.Tensor:
    """Return a randomly changed copy of a uint8 batch (B, C, H, W), each image drawn on its own.

    light: mirror left-right (when `flip`), zoom in and shift a little; strong: light, plus rotate up to
    15 degrees and change brightness, contrast and (colour images) saturation. "none" returns `images`.
    Random numbers come from `generator`, so the same seed gives the same batch.
    """
    if preset not in AUGMENTATIONS:
        raise UnknownNameError("augmentation", preset, AUGMENTATIONS)
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise DatasetError("Augmentation needs a uint8 batch of images shaped (B, C, H, W).")
    if preset == "none" or len(images) == 0:
        return images
    p = _PRESETS[preset]
    u = torch.rand(len(images), 8, generator=generator, device=generator.device).to(images.device)  # (B, 8)
    x = images.float().div_(255.0)  # (B, C, H, W) in [0, 1]
    theta = _random_affine(u[:, :5], p, flip, aspect=images.shape[2] / images.shape[3])  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if p.jitter > 0:
        x = _jitter(x, 1.0 + p.jitter * (2.0 * u[:, 5:] - 1.0))
    return x.mul_(255.0).round_().clamp_(0, 255).to(torch.uint8)


def _random_affine(u: torch.Tensor, p: _Preset, flip: bool, aspect: float) -> torch.Tensor:
    """Turn uniform numbers (B, 5) into affine_grid matrices (B, 2, 3): mirror, zoom, rotate, shift."""
    mirror = torch.where((u[:, 0] < 0.5) & flip, -1.0, 1.0)  # (B,)
    scale = 1.0 / (1.0 + (p.zoom - 1.0) * u[:, 1])  # a smaller sampling window is a zoom in
    angle = math.radians(p.degrees) * (2.0 * u[:, 2] - 1.0)
    shift = 2.0 * p.translate * (2.0 * u[:, 3:5] - 1.0)  # (B, 2) in grid units; the image spans 2
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    # Rotation in pixels, written in grid units where x and y are scaled by W/2 and H/2.
    row_x = torch.stack([cos * mirror, -sin * aspect, shift[:, 0]], dim=1)  # (B, 3)
    row_y = torch.stack([sin / aspect * mirror, cos, shift[:, 1]], dim=1)  # (B, 3)
    return torch.stack([row_x, row_y], dim=1)  # (B, 2, 3)


def _jitter(x: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Scale brightness, contrast and saturation of floats (B, C, H, W) by per-image factors (B, 3)."""
    f = factors.view(-1, 3, 1, 1, 1)  # (B, 3, 1, 1, 1)
    x = (x * f[:, 0]).clamp_(0.0, 1.0)
    gray_mean = _gray(x).mean(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1)
    x = (f[:, 1] * x + (1.0 - f[:, 1]) * gray_mean).clamp_(0.0, 1.0)
    if x.shape[1] == 3:
        x = (f[:, 2] * x + (1.0 - f[:, 2]) * _gray(x)).clamp_(0.0, 1.0)
    return x


def _gray(x: torch.Tensor) -> torch.Tensor:
    """Return the luminance (B, 1, H, W) of a batch with 1 or 3 channels."""
    if x.shape[1] != 3:
        return x
    r, g, b = x.unbind(dim=1)  # torchvision's rgb_to_grayscale weights, without importing torchvision (~1 s)
    return r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114).unsqueeze(1)


def augment_preview(image: torch.Tensor, preset: str, n: int = 8, seed: int = 0, flip: bool = True) -> torch.Tensor:
    """Return `n` augmented versions (n, C, H, W) of one uint8 image (C, H, W), the same for the same seed."""
    if image.dtype != torch.uint8 or image.ndim != 3:
        raise DatasetError("The preview needs one uint8 image shaped (C, H, W).")
    if not 1 <= n <= 1024:
        raise DatasetError(f"The preview shows 1 to 1,024 versions, not {n}.")
    batch = image.unsqueeze(0).expand(n, -1, -1, -1).contiguous()  # (n, C, H, W)
    return augment_batch(batch, preset, torch.Generator().manual_seed(seed), flip)
