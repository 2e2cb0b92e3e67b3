"""scikit-learn's 1,797 scanned handwritten digits (8x8, 17 grey levels): embedded, no network."""

from __future__ import annotations

import torch

from core.data.base import ImageDataset

__all__: list[str] = []  # nothing here is part of core's public API


def load_digits_dataset() -> ImageDataset:
    """Return the digits as a 1-channel 8x8 dataset with white ink on black."""
    from sklearn.datasets import load_digits  # imported late: sklearn adds ~0.5 s to start-up

    bunch = load_digits()
    pixels = torch.from_numpy(bunch.images).float()  # (N, 8, 8) in 0..16
    images = (pixels * (255.0 / 16.0)).round().to(torch.uint8).unsqueeze(1)  # (N, 1, 8, 8)
    return ImageDataset(
        name="digits",
        images=images,
        labels=torch.from_numpy(bunch.target).long(),
        classes=tuple(str(d) for d in range(10)),
        description="1,797 handwritten digits scanned at 8x8 pixels (scikit-learn).",
        dark_background=True,
        source="sklearn.datasets.load_digits",
    )
