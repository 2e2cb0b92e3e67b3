"""Look at a dataset as a whole: 2-D maps of its images (PCA, t-SNE) and train/validation near-duplicates."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.data.base import ImageDataset
from core.errors import DatasetError
from core.seeding import global_generator

__all__ = ["DuplicateReport", "Projection", "find_duplicates", "project"]

PROJECTIONS = ("pca", "tsne")
NEAR_THRESHOLD = 0.15  # L2 between normalised 8x8 thumbnails; 0 is identical, about 1.4 is unrelated


@dataclass(frozen=True)
class Projection:
    """Images placed on a plane so that similar pixels land close together."""

    method: str
    points: np.ndarray  # (n, 2) float32
    labels: np.ndarray  # (n,) int64 class of each point
    indices: np.ndarray  # (n,) int64 position of each point's image in the dataset
    classes: tuple[str, ...]
    explained: tuple[float, ...] = ()  # PCA only: the share of pixel variance each axis shows


@dataclass(frozen=True)
class DuplicatePair:
    """A validation image and the training image most like it."""

    train_index: int  # position in the training split
    val_index: int  # position in the validation split
    distance: float  # 0.0 for an exact copy
    exact: bool


@dataclass(frozen=True)
class DuplicateReport:
    """How many validation images have a copy, or nearly one, among the training images."""

    exact: int
    near: int
    threshold: float
    compared: tuple[int, int]  # (training images, validation images)
    pairs: tuple[DuplicatePair, ...]  # the closest pairs first, at most `limit` of them


def _sample(n: int, limit: int, seed: int) -> torch.Tensor:
    """Return up to `limit` sorted positions out of n, the same for the same seed."""
    if n <= limit:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:limit].sort().values


def _pixels(images: torch.Tensor) -> torch.Tensor:
    """Flatten uint8 images (N, C, H, W) to float rows (N, C*H*W) on a 0-1 scale."""
    return images.reshape(len(images), -1).float().div_(255.0)


def _principal(x: torch.Tensor, q: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the centred rows of x projected on their top q directions, and each direction's variance share."""
    x = x - x.mean(dim=0, keepdim=True)  # (n, d)
    q = min(q, *x.shape)
    with global_generator(seed):  # pca_lowrank is randomised: pin it without touching other threads' draws
        _, s, v = torch.pca_lowrank(x, q=q, center=False, niter=4)  # s (q,), v (d, q)
    total = x.pow(2).sum().clamp_min(1e-12)
    return x @ v, s.pow(2) / total  # (n, q), (q,)


def _check_size(dataset: ImageDataset, need: int) -> None:
    if len(dataset) < need:
        raise DatasetError(f"{dataset.name} has {len(dataset)} images; a map needs at least {need}.")


def project_pca(dataset: ImageDataset, limit: int = 2000, seed: int = 0) -> Projection:
    """Place a sample of the images on the two directions along which their pixels vary most."""
    _check_size(dataset, 3)
    index = _sample(len(dataset), limit, seed)
    points, share = _principal(_pixels(dataset.images[index]), 2, seed)  # (n, 2), (2,)
    return Projection(
        method="pca",
        points=points.numpy().astype(np.float32),
        labels=dataset.labels[index].numpy(),
        indices=index.numpy(),
        classes=dataset.classes,
        explained=tuple(float(v) for v in share),
    )


def project_tsne(dataset: ImageDataset, limit: int = 600, seed: int = 0) -> Projection:
    """Place a sample of the images with t-SNE, which keeps each image near its most similar ones."""
    from sklearn.manifold import TSNE  # imported late: sklearn adds start-up time few pages need
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    _check_size(dataset, 5)
    index = _sample(len(dataset), limit, seed)
    reduced, _ = _principal(_pixels(dataset.images[index]), 50, seed)  # (n, <=50): the usual first step
    perplexity = float(min(30, (len(index) - 1) / 3))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed)
    with threadpool_limits(1, user_api="openmp"):  # on a busy 2-core box, 2 spinning threads took 5x longer
        points = tsne.fit_transform(reduced.numpy())  # (n, 2)
    return Projection(
        method="tsne",
        points=points.astype(np.float32),
        labels=dataset.labels[index].numpy(),
        indices=index.numpy(),
        classes=dataset.classes,
    )


def project(dataset: ImageDataset, method: str, seed: int = 0) -> Projection:
    """Return the map of `dataset` by one of PROJECTIONS."""
    if method == "pca":
        return project_pca(dataset, seed=seed)
    if method == "tsne":
        return project_tsne(dataset, seed=seed)
    raise DatasetError(f"Unknown map '{method}'. Choose one of: {', '.join(PROJECTIONS)}.")


def _hashes(images: torch.Tensor) -> list[bytes]:
    """Return a digest of each image's exact bytes."""
    flat = images.reshape(len(images), -1).contiguous().numpy()  # (N, C*H*W) uint8
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in flat]


def thumbnails(images: torch.Tensor, size: int = 8) -> torch.Tensor:
    """Return each image shrunk to size x size, centred and scaled to length 1: brightness and contrast drop out."""
    side = min(size, images.shape[2], images.shape[3])
    small = F.adaptive_avg_pool2d(images.float(), side).reshape(len(images), -1)  # (N, C*side*side)
    small = small - small.mean(dim=1, keepdim=True)
    return F.normalize(small, dim=1)


def _nearest(val: torch.Tensor, train: torch.Tensor, budget: int = 1 << 24) -> tuple[torch.Tensor, torch.Tensor]:
    """Return, for each unit row of val, its L2 distance to the closest unit row of train and that row's position."""
    rows = max(1, budget // max(len(train), 1))  # bounds each (rows, N_train) block to ~64 MB
    best_sim, where = [], []
    for start in range(0, len(val), rows):
        sim = val[start : start + rows] @ train.T  # (rows, N_train) cosine: 2.4x faster than cdist here
        best = sim.max(dim=1)
        best_sim.append(best.values)
        where.append(best.indices)
    dist = (2.0 - 2.0 * torch.cat(best_sim)).clamp_min(0.0).sqrt()  # unit vectors: |a - b|^2 = 2 - 2 cos
    return dist, torch.cat(where)  # (N_val,), (N_val,)


def find_duplicates(
    train: ImageDataset, val: ImageDataset, threshold: float = NEAR_THRESHOLD, limit: int = 24
) -> DuplicateReport:
    """Find validation images that are exact or near copies of a training image (one pair per image)."""
    if train.images.shape[1:] != val.images.shape[1:]:
        raise DatasetError("The training and validation images must have the same size to compare them.")
    first_seen: dict[bytes, int] = {}
    for i, h in enumerate(_hashes(train.images)):
        first_seen.setdefault(h, i)
    exact = {j: first_seen[h] for j, h in enumerate(_hashes(val.images)) if h in first_seen}
    pairs = [DuplicatePair(i, j, 0.0, True) for j, i in exact.items()]
    if len(train) and len(val):
        dist, where = _nearest(thumbnails(val.images), thumbnails(train.images))  # (N_val,), (N_val,)
        close = torch.nonzero(dist < threshold).flatten().tolist()
        pairs += [DuplicatePair(int(where[j]), j, float(dist[j]), False) for j in close if j not in exact]
    pairs.sort(key=lambda p: (not p.exact, p.distance, p.val_index))
    return DuplicateReport(
        exact=len(exact),
        near=len(pairs) - len(exact),
        threshold=threshold,
        compared=(len(train), len(val)),
        pairs=tuple(pairs[:limit]),
    )
