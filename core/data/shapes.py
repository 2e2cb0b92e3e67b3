"""A seeded generator of small colour images of geometric shapes: embedded, any size, no network."""

from __future__ import annotations

import colorsys
import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from core.data.base import ImageDataset

__all__: list[str] = []  # nothing here is part of core's public API

SHAPES = ("circle", "square", "triangle", "star", "cross")
_SUPERSAMPLE = 4  # draw large, then shrink: smooth edges at any size


def _polygon(kind: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    """Return the vertices of a regular shape of radius r centred on (cx, cy), rotated by angle."""
    if kind == "square":
        radii, count = [r], 4
    elif kind == "triangle":
        radii, count = [r], 3
    elif kind == "star":
        radii, count = [r, r * 0.45], 10
    else:  # cross: twelve corners of a plus sign
        a, b = r, r * 0.35
        pts = [(b, a), (b, b), (a, b), (a, -b), (b, -b), (b, -a)]
        pts += [(-x, -y) for x, y in pts]
        return [
            (cx + x * math.cos(angle) - y * math.sin(angle), cy + x * math.sin(angle) + y * math.cos(angle))
            for x, y in pts
        ]
    out = []
    for i in range(count):
        t = angle + 2 * math.pi * i / count
        rad = radii[i % len(radii)]
        out.append((cx + rad * math.cos(t), cy + rad * math.sin(t)))
    return out


def _colour(rng: np.random.Generator, light: bool) -> tuple[int, int, int]:
    """Return a random saturated colour, light or dark."""
    h, s = rng.random(), 0.55 + 0.45 * rng.random()
    v = 0.75 + 0.25 * rng.random() if light else 0.15 + 0.3 * rng.random()
    return tuple(int(255 * c) for c in colorsys.hsv_to_rgb(h, s, v))  # type: ignore[return-value]


def draw_shape(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw one shape at a random size, place, angle and colour on a noisy ground; (H, W, 3) uint8."""
    big = size * _SUPERSAMPLE
    light_shape = bool(rng.random() < 0.5)
    img = Image.new("RGB", (big, big), _colour(rng, not light_shape))
    draw = ImageDraw.Draw(img)
    r = big * (0.18 + 0.17 * rng.random())
    cx, cy = rng.uniform(r, big - r, size=2)
    fill = _colour(rng, light_shape)
    if kind == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    else:
        draw.polygon(_polygon(kind, cx, cy, r, rng.uniform(0, 2 * math.pi)), fill=fill)
    pixels = np.asarray(img.resize((size, size), Image.Resampling.BOX), dtype=np.float32)
    pixels += rng.normal(0.0, 12.0, size=pixels.shape)
    return pixels.clip(0, 255).astype(np.uint8)


def generate_shapes(samples: int = 2000, image_size: int = 32, seed: int = 0) -> ImageDataset:
    """Return `samples` shape images, balanced over the classes, the same for the same seed."""
    rng = np.random.default_rng(seed)
    labels = np.arange(samples) % len(SHAPES)
    rng.shuffle(labels)
    images = np.stack([draw_shape(SHAPES[k], image_size, rng) for k in labels])  # (N, H, W, 3)
    return ImageDataset(
        name="shapes",
        images=torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),  # (N, 3, H, W)
        labels=torch.from_numpy(labels).long(),
        classes=SHAPES,
        description=f"{samples} generated {image_size}x{image_size} colour images of {len(SHAPES)} shapes.",
        source=f"generated, seed {seed}",
    )
