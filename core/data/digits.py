"""scikit-learn's 1,797 scanned handwritten digits (8x8, 17 grey levels): embedded, no network."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from core.data.base import ImageDataset
from core.errors import LightboxError

__all__: list[str] = []  # nothing here is part of core's public API


def _digits_csv() -> Path:
    """Find the CSV that scikit-learn's `load_digits` reads, without importing scikit-learn.

    Importing `sklearn.datasets` pulls in scipy, pandas and pyarrow: about 140 MB and 1-3 s in a server
    that only needs 1,797 rows of 65 numbers.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise LightboxError("The handwritten digits come with scikit-learn: pip install scikit-learn")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"


def load_digits_dataset() -> ImageDataset:
    """Return the digits as a 1-channel 8x8 dataset with white ink on black."""
    table = np.loadtxt(_digits_csv(), delimiter=",", dtype=np.float32)  # (N, 65): 64 pixels in 0..16, the label
    pixels = torch.from_numpy(table[:, :-1].reshape(-1, 8, 8))  # (N, 8, 8), as load_digits().images
    images = (pixels * (255.0 / 16.0)).round().to(torch.uint8).unsqueeze(1)  # (N, 1, 8, 8)
    return ImageDataset(
        name="digits",
        images=images,
        labels=torch.from_numpy(table[:, -1].astype(np.int64)),
        classes=tuple(str(d) for d in range(10)),
        description="1,797 handwritten digits scanned at 8x8 pixels (scikit-learn).",
        dark_background=True,
        source="sklearn.datasets.load_digits",
    )
