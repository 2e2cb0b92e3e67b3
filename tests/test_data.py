from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from core import DATASETS, DataConfig, DatasetError, ImageDataset, UnknownNameError, load_dataset
from core.data.shapes import SHAPES, generate_shapes


def test_digits_is_embedded_and_shaped_as_images() -> None:
    ds = load_dataset("digits")
    assert len(ds) == 1797
    assert ds.images.shape == (1797, 1, 8, 8) and ds.images.dtype == torch.uint8
    assert ds.classes == tuple("0123456789")
    assert ds.dark_background
    assert int(ds.images.max()) == 255 and int(ds.images.min()) == 0


def test_shapes_are_seeded_balanced_and_sized() -> None:
    a = generate_shapes(samples=100, image_size=24, seed=3)
    b = generate_shapes(samples=100, image_size=24, seed=3)
    c = generate_shapes(samples=100, image_size=24, seed=4)
    assert a.images.shape == (100, 3, 24, 24)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)
    assert a.class_counts() == [20] * len(SHAPES)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_shapes_options_come_from_the_config() -> None:
    ds = load_dataset(DataConfig(name="shapes", image_size=16, samples=60))
    assert ds.images.shape == (60, 3, 16, 16)
    with pytest.raises(DatasetError, match="50 to 50,000"):
        load_dataset(DataConfig(name="shapes", samples=5))


def test_split_is_stratified_disjoint_and_repeatable() -> None:
    ds = load_dataset("digits")
    train, val = ds.split(0.2, seed=0)
    train2, val2 = ds.split(0.2, seed=0)
    _, val3 = ds.split(0.2, seed=1)
    assert len(train) + len(val) == len(ds)
    assert torch.equal(val.images, val2.images) and torch.equal(train.labels, train2.labels)
    assert not torch.equal(val.images, val3.images)
    for count, total in zip(val.class_counts(), ds.class_counts(), strict=True):
        assert abs(count - total * 0.2) <= 1
    with pytest.raises(DatasetError):
        ds.split(1.5, seed=0)


def test_channel_stats_match_a_direct_computation() -> None:
    ds = generate_shapes(samples=50, image_size=16, seed=0)
    mean, std = ds.channel_stats()
    x = ds.images.float() / 255
    assert mean == pytest.approx(x.mean(dim=(0, 2, 3)).tolist(), abs=1e-5)
    assert std == pytest.approx(x.std(dim=(0, 2, 3)).tolist(), abs=1e-4)


def test_unknown_dataset_names_the_choices() -> None:
    with pytest.raises(UnknownNameError, match="digits, shapes"):
        load_dataset("imagenet-but-misspelt")


def test_registry_entries_load() -> None:
    for name, spec in DATASETS.items():
        if spec.needs_download():  # each test has an empty home: standard datasets are not there yet
            with pytest.raises(DatasetError, match="not downloaded yet"):
                load_dataset(name)
        else:
            assert len(load_dataset(name)) > 0


def test_dataset_rejects_inconsistent_tensors() -> None:
    with pytest.raises(DatasetError):
        ImageDataset("bad", torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(3, dtype=torch.long), ("a",))
    with pytest.raises(DatasetError):
        ImageDataset("bad", torch.zeros(2, 1, 4, 4), torch.zeros(2, dtype=torch.long), ("a",))


def test_a_config_names_one_split_and_training_and_evaluation_use_it() -> None:
    from core import train_val_split
    from core.train_runs import batches_per_epoch
    from tests.helpers import quick_config

    ds = load_dataset("digits")
    data = DataConfig(val_fraction=0.3, split_seed=5)
    train, val = train_val_split(ds, data)
    expected_train, expected_val = ds.split(0.3, seed=5)
    assert torch.equal(train.labels, expected_train.labels) and torch.equal(val.images, expected_val.images)
    config = replace(quick_config(batch_size=100), data=data)
    assert batches_per_epoch(config) == -(-len(train) // 100)


def test_digits_match_scikit_learn_without_importing_it() -> None:
    """The server reads the digits' CSV itself: importing sklearn costs ~140 MB (scipy, pandas, pyarrow)."""
    import subprocess
    import sys

    probe = (
        "import sys; from core.data.digits import load_digits_dataset as load; load(); print('sklearn' in sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "False"

    from sklearn.datasets import load_digits

    bunch = load_digits()
    digits = load_dataset("digits")
    expected = (torch.from_numpy(bunch.images).float() * (255.0 / 16.0)).round().to(torch.uint8).unsqueeze(1)
    assert torch.equal(digits.images, expected)
    assert torch.equal(digits.labels, torch.from_numpy(bunch.target).long())
