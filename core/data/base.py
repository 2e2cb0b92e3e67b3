"""The in-memory dataset type every loader returns."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from core.errors import DatasetError

if TYPE_CHECKING:
    from core.config import DataConfig

__all__ = ["ImageDataset", "tensor_to_pil", "train_val_split"]


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Images held in memory as one uint8 tensor, batched by slicing rather than a DataLoader."""

    name: str
    images: torch.Tensor  # (N, C, H, W) uint8, C in {1, 3}
    labels: torch.Tensor  # (N,) int64 in [0, len(classes))
    classes: tuple[str, ...]
    description: str = ""
    dark_background: bool = False  # ink on a dark ground, as in the digits scans
    source: str = ""
    skipped: tuple[str, ...] = field(default=())  # files a loader could not use, with the reason

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise DatasetError(f"{self.name}: images must be a uint8 tensor (N, C, H, W).")
        if self.images.shape[1] not in (1, 3):
            raise DatasetError(f"{self.name}: images need 1 or 3 channels, not {self.images.shape[1]}.")
        if self.labels.shape != (self.images.shape[0],):
            raise DatasetError(f"{self.name}: {len(self.labels)} labels for {len(self.images)} images.")
        if len(self.labels) and int(self.labels.max()) >= len(self.classes):
            raise DatasetError(f"{self.name}: a label is outside the {len(self.classes)} classes.")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        """Height and width in pixels."""
        return int(self.images.shape[2]), int(self.images.shape[3])

    def subset(self, index: torch.Tensor, name: str | None = None) -> ImageDataset:
        """Return the images at `index` as a dataset of the same classes."""
        return ImageDataset(
            name=name or self.name,
            images=self.images[index],
            labels=self.labels[index],
            classes=self.classes,
            description=self.description,
            dark_background=self.dark_background,
            source=self.source,
        )

    def split(self, val_fraction: float, seed: int) -> tuple[ImageDataset, ImageDataset]:
        """Split into train and validation, stratified by class, the same way for the same seed."""
        if not 0.0 < val_fraction < 1.0:
            raise DatasetError(f"The validation fraction must be between 0 and 1, not {val_fraction}.")
        gen = torch.Generator().manual_seed(seed)
        train_idx, val_idx = [], []
        for c in range(len(self.classes)):
            idx = torch.nonzero(self.labels == c).flatten()
            idx = idx[torch.randperm(len(idx), generator=gen)]
            n = len(idx)
            n_val = min(max(round(n * val_fraction), 1), n - 1) if n > 1 else 0  # keep one on each side
            val_idx.append(idx[:n_val])
            train_idx.append(idx[n_val:])
        train = torch.cat(train_idx).sort().values
        val = torch.cat(val_idx).sort().values
        if len(train) == 0 or len(val) == 0:
            raise DatasetError(f"{self.name} has too few images ({len(self)}) to hold some back for validation.")
        return self.subset(train, f"{self.name}:train"), self.subset(val, f"{self.name}:val")

    def fingerprint(self) -> str:
        """Return a short hash of the pixels, labels and class names (hashed once per dataset object)."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            h = hashlib.sha256()
            h.update(self.images.contiguous().numpy().tobytes())
            h.update(self.labels.contiguous().numpy().tobytes())
            h.update("\x1f".join(self.classes).encode())
            cached = h.hexdigest()[:16]
            object.__setattr__(self, "_fingerprint", cached)  # frozen: the pixels never change after loading
        return cached

    def class_counts(self) -> list[int]:
        """Return how many images each class has, in class order."""
        return torch.bincount(self.labels, minlength=len(self.classes)).tolist()

    def channel_stats(self) -> tuple[list[float], list[float]]:
        """Return the per-channel pixel mean and standard deviation on a 0-1 scale."""
        x = self.images.transpose(0, 1).reshape(self.channels, -1).double().div_(255.0)  # (C, N*H*W)
        return x.mean(dim=1).tolist(), x.std(dim=1).clamp_min(1e-6).tolist()

    def to_pil(self, i: int) -> Image.Image:
        """Return image `i` as a PIL image (mode L or RGB)."""
        return tensor_to_pil(self.images[i])


def train_val_split(dataset: ImageDataset, data: DataConfig) -> tuple[ImageDataset, ImageDataset]:
    """Return the (train, validation) parts that a run with these data settings trains and validates on."""
    return dataset.split(data.val_fraction, data.split_seed)


def tensor_to_pil(image: torch.Tensor) -> Image.Image:
    """Convert one uint8 image tensor (C, H, W) to a PIL image (mode L or RGB)."""
    arr = np.ascontiguousarray(image.permute(1, 2, 0).numpy())  # (H, W, C)
    return Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """Convert a uint8 image batch to float in [0, 1]; float inputs (cached features) pass through."""
    return images.float().div_(255.0) if images.dtype == torch.uint8 else images
