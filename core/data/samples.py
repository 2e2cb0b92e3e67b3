"""A dataset from images gathered one by one (webcam snapshots and uploads on the Teach page)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from core.data.base import ImageDataset
from core.data.images import load_tensor
from core.errors import DatasetError

MIN_PER_CLASS = 2  # one to learn from, one to check on


def dataset_from_samples(name: str, samples: Mapping[str, Sequence[bytes]], image_size: int = 96) -> ImageDataset:
    """Decode image files grouped by class name into a square RGB dataset; raise a clear error if too few."""
    classes = [c.strip() for c in samples]
    if len(set(classes)) != len(classes) or "" in classes:
        raise DatasetError("Every class needs its own, non-empty name.")
    if len(classes) < 2:
        raise DatasetError("Teach at least two classes: a model learns by telling things apart.")
    short = [c for c in samples if len(samples[c]) < MIN_PER_CLASS]
    if short:
        raise DatasetError(f"Each class needs at least {MIN_PER_CLASS} images; add more to: {', '.join(short)}.")
    images, labels = [], []
    for label, files in enumerate(samples.values()):
        images += [load_tensor(data, image_size, 3) for data in files]  # (3, S, S) each
        labels += [label] * len(files)
    return ImageDataset(
        name=name,
        images=torch.stack(images),  # (N, 3, S, S)
        labels=torch.tensor(labels, dtype=torch.long),
        classes=tuple(classes),
        description=f"{len(images)} images of {len(classes)} classes taught in the browser.",
        source="taught",
    )
