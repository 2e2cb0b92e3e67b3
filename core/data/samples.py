"""A dataset from images gathered one by one (webcam snapshots and uploads on the Teach page)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from core.data.base import ImageDataset
from core.data.images import load_tensor
from core.errors import DatasetError, ImageError

__all__ = ["dataset_from_samples"]

MIN_PER_CLASS = 2  # one to learn from, one to check on


def dataset_from_samples(name: str, samples: Mapping[str, Sequence[bytes]], image_size: int = 96) -> ImageDataset:
    """Decode image files grouped by class name into a square RGB dataset; raise a clear error if too few."""
    classes = [c.strip() for c in samples]
    if len(set(classes)) != len(classes) or "" in classes:
        raise DatasetError("Every class needs its own, non-empty name.")
    if len(classes) < 2:
        raise DatasetError("Teach at least two classes: a model learns by telling things apart.")
    decoded = {c: _decodable(files, image_size) for c, files in zip(classes, samples.values(), strict=True)}
    short = [c for c, tensors in decoded.items() if len(tensors) < MIN_PER_CLASS]
    if short:
        raise DatasetError(
            f"Each class needs at least {MIN_PER_CLASS} images (pictures that could not be read do not count); "
            f"add more to: {', '.join(short)}."
        )
    images = [t for tensors in decoded.values() for t in tensors]
    labels = [label for label, tensors in enumerate(decoded.values()) for _ in tensors]
    skipped = sum(len(files) for files in samples.values()) - len(images)
    note = f" {skipped} example(s) that could not be read were left out." if skipped else ""
    return ImageDataset(
        name=name,
        images=torch.stack(images),  # (N, 3, S, S)
        labels=torch.tensor(labels, dtype=torch.long),
        classes=tuple(classes),
        description=f"{len(images)} images of {len(classes)} classes taught in the browser.{note}",
        source="taught",
    )


def _decodable(files: Sequence[bytes], image_size: int) -> list[torch.Tensor]:
    """Return the files that are images as (3, S, S) tensors, leaving out the ones that are not."""
    tensors = []
    for data in files:
        try:
            tensors.append(load_tensor(data, image_size, 3))
        except ImageError:
            continue
    return tensors
