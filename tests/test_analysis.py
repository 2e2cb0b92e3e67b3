"""Dataset maps (PCA, t-SNE) and train/validation copies, on small synthetic datasets with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core import DatasetError, ImageDataset, load_dataset
from core.data.analysis import find_duplicates, project, project_pca, project_tsne


def _two_classes(n: int = 60) -> ImageDataset:
    """Dark noisy squares on the left half vs bright ones on the right: different to the eye and to PCA."""
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 40, (n, 1, 12, 12), generator=gen, dtype=torch.uint8)  # (n, 1, 12, 12)
    labels = torch.arange(n) % 2
    images[labels == 0, :, :, :6] += 180
    images[labels == 1, :, :, 6:] += 180
    return ImageDataset("halves", images, labels, ("left", "right"))


def _noise(n: int, seed: int) -> ImageDataset:
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 16, 16), generator=gen, dtype=torch.uint8)  # unrelated images
    return ImageDataset(f"noise{seed}", images, torch.arange(n) % 3, ("a", "b", "c"))


def test_pca_puts_two_different_classes_on_either_side_of_its_first_axis() -> None:
    dataset = _two_classes()
    proj = project_pca(dataset)
    assert proj.points.shape == (60, 2) and proj.points.dtype == np.float32
    first = proj.points[:, 0]
    left, right = first[proj.labels == 0], first[proj.labels == 1]
    assert left.max() < right.min() or right.max() < left.min()  # a clean gap between the classes
    assert proj.explained[0] > 0.5 > proj.explained[1]  # the class difference is most of the variation
    assert proj.indices.tolist() == list(range(60)) and proj.classes == ("left", "right")


def test_pca_samples_large_datasets_the_same_way_each_time() -> None:
    dataset = load_dataset("digits")
    a, b = project_pca(dataset, limit=300), project_pca(dataset, limit=300)
    assert a.points.shape == (300, 2) and np.array_equal(a.indices, b.indices)
    assert np.allclose(a.points, b.points)
    assert np.array_equal(a.labels, dataset.labels[torch.from_numpy(a.indices)].numpy())


def test_tsne_returns_finite_points_that_keep_classes_together() -> None:
    proj = project_tsne(_two_classes(), seed=0)
    assert proj.points.shape == (60, 2) and np.isfinite(proj.points).all()
    centres = [proj.points[proj.labels == c].mean(axis=0) for c in (0, 1)]
    spread = max(np.linalg.norm(proj.points[proj.labels == c] - centres[c], axis=1).mean() for c in (0, 1))
    assert np.linalg.norm(centres[0] - centres[1]) > 2 * spread


def test_an_unknown_map_or_a_tiny_dataset_is_a_sentence() -> None:
    with pytest.raises(DatasetError, match="Choose one of: pca, tsne"):
        project(_two_classes(), "umap")
    with pytest.raises(DatasetError, match="at least"):
        project_pca(_two_classes(2))


def test_planted_exact_and_near_copies_are_found_and_nothing_else() -> None:
    train, val = _noise(200, seed=1), _noise(50, seed=2)
    images = val.images.clone()
    for v, t in ((3, 10), (17, 0), (40, 199)):  # exact copies
        images[v] = train.images[t]
    gen = torch.Generator().manual_seed(3)
    for v, t in ((5, 50), (30, 120)):  # near copies: a little noise and a brighter exposure
        jitter = torch.randint(-6, 7, train.images[t].shape, generator=gen)
        images[v] = (train.images[t].int() * 9 // 10 + 20 + jitter).clamp(0, 255).to(torch.uint8)
    val = ImageDataset("val", images, val.labels, val.classes)

    report = find_duplicates(train, val)
    assert (report.exact, report.near) == (3, 2)
    assert report.compared == (200, 50)
    exact = sorted((p.val_index, p.train_index) for p in report.pairs if p.exact)
    near = sorted((p.val_index, p.train_index) for p in report.pairs if not p.exact)
    assert exact == [(3, 10), (17, 0), (40, 199)] and near == [(5, 50), (30, 120)]
    assert all(p.distance == 0.0 for p in report.pairs[:3]) and all(0 < p.distance < 0.15 for p in report.pairs[3:])


def test_copies_need_images_of_one_size() -> None:
    small = ImageDataset("s", torch.zeros(2, 1, 8, 8, dtype=torch.uint8), torch.zeros(2, dtype=torch.long), ("a",))
    with pytest.raises(DatasetError, match="same size"):
        find_duplicates(small, _noise(2, seed=0))
