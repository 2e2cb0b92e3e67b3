"""A user's own images kept as a named dataset: import, list, load, replace, delete, train."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import torch

from core import (
    DataConfig,
    DatasetError,
    ImageDataset,
    ModelConfig,
    RunConfig,
    RunStore,
    StoreError,
    TrainConfig,
    UnknownNameError,
    delete_user_dataset,
    import_dataset,
    list_user_datasets,
    load_dataset,
    save_user_dataset,
    train_run,
)
from core.data.user import load_user_dataset
from tests.helpers.datasets import make_tree, zip_tree


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "pets")


def same(a: ImageDataset, b: ImageDataset) -> bool:
    return (
        torch.equal(a.images, b.images)
        and torch.equal(a.labels, b.labels)
        and a.classes == b.classes
        and a.skipped == b.skipped
    )


def test_import_from_a_folder_keeps_it_by_name(tree: Path, lightbox_home: Path) -> None:
    ds = import_dataset("pets", tree, image_size=16)
    assert (len(ds), ds.classes, ds.image_size) == (90, ("blue", "green", "red"), (16, 16))
    assert ds.skipped == ("blue/notes.txt: not an image file, ignored",)
    assert (lightbox_home / "datasets" / "pets.pt").is_file()
    (info,) = list_user_datasets()
    assert (info.name, info.classes, info.images, info.image_size, info.skipped) == (
        "pets",
        ("blue", "green", "red"),
        90,
        16,
        1,
    )
    loaded = load_user_dataset("pets")
    assert same(loaded, ds) and loaded.name == "pets"
    assert same(load_dataset("pets"), ds)


def test_import_from_a_zip_path_and_zip_bytes(tree: Path, tmp_path: Path) -> None:
    from_folder = import_dataset("folder", tree, image_size=16)
    archive = tmp_path / "pets.zip"
    archive.write_bytes(zip_tree(tree))
    calls: list[tuple[int, int]] = []
    from_path = import_dataset("zipped", archive, image_size=16, progress=lambda d, t: calls.append((d, t)))
    from_bytes = import_dataset("uploaded", archive.read_bytes(), image_size=16)
    assert same(from_path, from_folder) and same(from_bytes, from_folder)
    assert calls[-1] == (90, 90) and len(calls) == 90
    assert [d.name for d in list_user_datasets()] == ["uploaded", "zipped", "folder"]  # newest first
    assert same(load_dataset("uploaded"), from_folder)


def test_reimport_replaces_and_load_dataset_sees_the_new_one(tree: Path, tmp_path: Path) -> None:
    import_dataset("pets", tree, image_size=16)
    assert len(load_dataset("pets").classes) == 3  # now cached
    smaller = make_tree(tmp_path / "two", {"cats": (200, 200, 0), "dogs": (0, 0, 90)}, per_class=5)
    with pytest.raises(DatasetError, match="There is a dataset called 'pets' already"):  # not silently replaced
        import_dataset("pets", smaller, image_size=24)
    assert len(load_dataset("pets").classes) == 3
    import_dataset("pets", smaller, image_size=24, replace=True)
    again = load_dataset(DataConfig("pets"))
    assert again.classes == ("cats", "dogs") and len(again) == 10 and again.image_size == (24, 24)
    assert [d.name for d in list_user_datasets()] == ["pets"]


def test_a_name_differing_only_in_capitals_is_the_same_dataset(tree: Path, tmp_path: Path) -> None:
    """A dataset 'Pets' beside 'pets' would be one file on macOS and Windows, and two look-alikes in every list."""
    import_dataset("pets", tree, image_size=16)
    smaller = make_tree(tmp_path / "two", {"cats": (200, 200, 0), "dogs": (0, 0, 90)}, per_class=5)
    with pytest.raises(DatasetError, match="There is a dataset called 'pets' already"):
        import_dataset("Pets", smaller, image_size=24)
    import_dataset("Pets", smaller, image_size=24, replace=True)
    assert [d.name for d in list_user_datasets()] == ["Pets"]
    assert load_dataset("Pets").classes == ("cats", "dogs")


def test_delete_forgets_the_dataset(tree: Path) -> None:
    import_dataset("pets", tree, image_size=16)
    load_dataset("pets")
    delete_user_dataset("pets")
    assert list_user_datasets() == []
    with pytest.raises(UnknownNameError, match="digits, shapes"):
        load_dataset("pets")
    with pytest.raises(DatasetError, match="no dataset 'pets'"):
        delete_user_dataset("pets")
    with pytest.raises(DatasetError, match="no dataset 'pets'"):
        load_user_dataset("pets")


def test_unknown_names_list_the_user_datasets_too(tree: Path) -> None:
    import_dataset("my-pets", tree, image_size=16)
    with pytest.raises(UnknownNameError, match=r"digits, shapes, .*my-pets, a folder"):
        load_dataset("my-pest")


@pytest.mark.parametrize("name", ["", "x" * 41, ".hidden", "has space", "../up", "a/b", "digits", "Shapes", "café"])
def test_bad_names_are_refused_with_a_plain_message(tree: Path, name: str, lightbox_home: Path) -> None:
    with pytest.raises(DatasetError) as err:
        import_dataset(name, tree, image_size=16)
    assert "name" in str(err.value) or "built-in" in str(err.value)
    assert not (lightbox_home / "datasets").exists() or not any((lightbox_home / "datasets").iterdir())


def test_good_names_are_accepted(tree: Path) -> None:
    for name in ["a", "x" * 40, "my_pets.v2", "2024-pets"]:
        import_dataset(name, tree, image_size=8)
    assert len(list_user_datasets()) == 4


class _Payload:
    """An object whose unpickling would create a file: what a hostile dataset file could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_a_file_with_pickled_code_is_refused_and_never_run(tree: Path, lightbox_home: Path, tmp_path: Path) -> None:
    import_dataset("good", tree, image_size=8)
    marker = tmp_path / "pwned"
    evil = {"format": 1, "images": torch.zeros(2, 3, 4, 4, dtype=torch.uint8), "x": _Payload(marker)}
    torch.save(evil, lightbox_home / "datasets" / "evil.pt")
    (lightbox_home / "datasets" / "garbage.pt").write_bytes(b"not a torch file at all")
    with pytest.raises(DatasetError, match="damaged or not a Lightbox dataset"):
        load_user_dataset("evil")
    with pytest.raises(DatasetError, match="damaged"):
        load_dataset("garbage")
    assert [d.name for d in list_user_datasets()] == ["good"]
    assert not marker.exists()


def test_an_unwritable_home_is_a_store_error(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "a-file"
    home.write_text("a file where the home folder should be")
    monkeypatch.setenv("LIGHTBOX_HOME", str(home))
    with pytest.raises(StoreError, match="Cannot save the dataset 'pets'"):
        import_dataset("pets", tree, image_size=8)


def test_a_full_disk_is_a_store_error_and_keeps_the_old_dataset(
    tree: Path, lightbox_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = import_dataset("pets", tree, image_size=8)

    def full(obj: object, f: io.BufferedWriter) -> None:
        f.write(b"half a file")
        raise OSError(28, os.strerror(28))

    with monkeypatch.context() as m, pytest.raises(StoreError, match="No space left on device"):
        m.setattr(torch, "save", full)
        import_dataset("pets", tree, image_size=16, replace=True)
    assert [p.name for p in (lightbox_home / "datasets").iterdir()] == ["pets.pt"]  # no temporary file left
    assert same(load_user_dataset("pets"), old)


def test_a_dataset_built_in_memory_can_be_kept_and_trained_by_name() -> None:
    images = torch.randint(0, 255, (8, 3, 16, 16), dtype=torch.uint8)  # (N, C, H, W)
    ds = ImageDataset("taught-1", images, torch.tensor([0, 1] * 4), ("yes", "no"), source="taught")
    save_user_dataset(ds)
    loaded = load_dataset("taught-1")
    assert same(loaded, ds) and loaded.source == "taught"
    with pytest.raises(DatasetError, match="built-in"):
        save_user_dataset(ImageDataset("digits", images, torch.zeros(8, dtype=torch.int64), ("a",)))


def test_training_on_an_imported_dataset_beats_chance(tree: Path, store: RunStore) -> None:
    import_dataset("pets", zip_tree(tree), image_size=16)
    config = RunConfig(DataConfig("pets"), ModelConfig("cnn"), TrainConfig(epochs=2, batch_size=16, lr=3e-3))
    run = train_run(config, store)
    assert run.status == "finished" and run.dataset == "pets"
    assert run.fingerprint == load_dataset("pets").fingerprint()
    assert run.metrics["val_accuracy"] > 0.6  # chance is 1/3
