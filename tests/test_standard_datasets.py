"""Standard datasets, offline: the test writes small files in the real formats where torchvision looks for them."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
from pathlib import Path

import pytest
import torch

import core.data.standard as standard
from core import DATASETS, DatasetError, load_dataset
from core.cli import main
from core.data.standard import datasets_root, download_dataset, is_cached, load_standard, tensor_cache_path
from tests.helpers.datasets import write_cifar, write_mnist


def test_mnist_decodes_through_torchvision_and_reuses_its_tensor_cache() -> None:
    assert DATASETS["mnist"].needs_download()
    images = write_mnist()
    assert is_cached("mnist") and not DATASETS["mnist"].needs_download()
    steps: list[tuple[int, int, str]] = []
    train = load_standard("mnist", progress=lambda done, total, stage: steps.append((done, total, stage)))
    assert train.images.shape == (30, 1, 28, 28) and train.images.dtype == torch.uint8
    assert train.labels.dtype == torch.int64 and train.labels.tolist() == [i % 10 for i in range(30)]
    assert train.classes == tuple(str(d) for d in range(10)) and train.dark_background
    assert torch.equal(train.images[:, 0], torch.from_numpy(images))
    assert steps == [(0, 2, "decode"), (1, 2, "decode"), (2, 2, "decode")]
    assert tensor_cache_path("mnist", "train").is_file() and tensor_cache_path("mnist", "test").is_file()
    assert len(load_standard("mnist", "test")) == 10

    for f in (datasets_root() / "MNIST" / "raw").iterdir():  # from now on only the tensor cache can answer
        f.unlink()
    again = load_standard("mnist", progress=lambda *a: steps.append(a))
    assert torch.equal(again.images, train.images) and torch.equal(again.labels, train.labels)
    assert len(steps) == 3  # no second decode
    assert is_cached("mnist")


def test_the_registry_and_cli_load_and_list_a_cached_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    write_mnist("FashionMNIST", train=20, test=5)
    assert main(["download", "fashion-mnist"]) == 0  # files present: decodes, downloads nothing
    assert "images: 20" in capsys.readouterr().out
    dataset = load_dataset("fashion-mnist")
    assert dataset.classes[0] == "T-shirt/top" and len(dataset.classes) == 10
    assert main(["datasets"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "[downloaded]" in lines["fashion-mnist"]
    assert "needs a download, about 12 MB" in lines["mnist"]
    assert "needs a download" not in lines["digits"] and "downloaded" not in lines["digits"]


def test_cifar10_batches_read_channel_first_with_their_class_names() -> None:
    rows = write_cifar()
    train = load_standard("cifar10")
    assert train.images.shape == (30, 3, 32, 32) and train.images.dtype == torch.uint8
    assert torch.equal(train.images[7], torch.from_numpy(rows[7]).reshape(3, 32, 32))  # red plane first
    assert train.classes[:3] == ("airplane", "automobile", "bird") and not train.dark_background
    assert train.labels.tolist() == [i % 10 for i in range(6)] * 5
    assert len(load_standard("cifar10", "test")) == 6


def test_cifar100_uses_fine_labels() -> None:
    write_cifar("cifar-100-python", per_batch=120, hundred=True)
    train = load_dataset("cifar100")
    assert len(train) == 120 and len(train.classes) == 100 and int(train.labels.max()) == 99


def test_a_cifar_batch_that_carries_code_is_refused(tmp_path: Path) -> None:
    write_cifar()
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):  # unpickling would call os.system
            return (os.system, (f"touch {marker}",))

    with open(datasets_root() / "cifar-10-batches-py" / "data_batch_3", "wb") as f:
        pickle.dump({"data": Evil(), "labels": []}, f, protocol=2)
    with pytest.raises(DatasetError, match="damaged or incomplete"):
        load_standard("cifar10")
    assert not marker.exists()


def test_offline_and_not_downloaded_says_so_in_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(standard, "network_available", lambda: False)  # this test is about being offline
    with pytest.raises(DatasetError, match="MNIST digits is not downloaded yet and this machine is offline"):
        load_dataset("mnist")
    with pytest.raises(DatasetError, match=r"offline.*about 170 MB"):
        download_dataset("cifar10")
    assert main(["download", "cifar10"]) == 2


def test_downloads_are_checked_against_torchvisions_md5(tmp_path: Path) -> None:
    source = tmp_path / "archive.gz"
    source.write_bytes(gzip.compress(b"x" * 200_000))
    md5 = hashlib.md5(source.read_bytes()).hexdigest()
    got: list[int] = []
    standard._fetch(source.as_uri(), tmp_path / "copy.gz", md5, got.append)
    assert (tmp_path / "copy.gz").read_bytes() == source.read_bytes() and sum(got) == source.stat().st_size
    with pytest.raises(DatasetError, match="checksum"):
        standard._fetch(source.as_uri(), tmp_path / "bad.gz", "0" * 32, got.append)
    assert not (tmp_path / "bad.gz").exists()


def test_download_fetches_extracts_and_decodes_from_a_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole download path, with a local folder as the mirror (this machine cannot reach the real one)."""
    write_mnist()
    raw = datasets_root() / "MNIST" / "raw"
    archives = []
    for f in sorted(raw.iterdir()):  # move the files to the "mirror" as the .gz archives torchvision lists
        packed = gzip.compress(f.read_bytes())
        (tmp_path / f"{f.name}.gz").write_bytes(packed)
        archives.append(([(tmp_path / f"{f.name}.gz").as_uri()], f"{f.name}.gz", hashlib.md5(packed).hexdigest()))
        f.unlink()
    monkeypatch.setattr(standard, "_archives", lambda spec: archives)
    monkeypatch.setattr(standard, "network_available", lambda: True)
    assert not is_cached("mnist")
    stages: list[str] = []
    dataset = download_dataset("mnist", lambda done, total, stage: stages.append(stage))
    assert len(dataset) == 30 and dataset.images.shape == (30, 1, 28, 28)
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == ["download", "extract", "decode"]
    assert is_cached("mnist")
    assert sorted(p.name for p in raw.iterdir()) == sorted(a[1][:-3] for a in archives)  # extracted, .gz removed


def test_load_dataset_never_returns_another_homes_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_mnist()
    assert len(load_dataset("mnist")) == 30
    monkeypatch.setenv("LIGHTBOX_HOME", str(tmp_path / "empty-home"))
    with pytest.raises(DatasetError, match="not downloaded yet"):
        load_dataset("mnist")


def test_a_full_disk_while_decoding_is_a_sentence_and_leaves_no_temporary_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import errno

    write_mnist()

    def full(obj: object, f: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(standard.torch, "save", full)
    with pytest.raises(DatasetError, match="the disk is full"):
        load_standard("mnist")
    assert [p.name for p in datasets_root().iterdir()] == ["MNIST"]


def test_two_sessions_downloading_at_once_download_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    calls: list[int] = []

    def fake_download(spec: object, progress: object) -> None:
        calls.append(1)
        time.sleep(0.3)  # long enough for the other session to arrive meanwhile
        write_mnist()  # a second download into the same folder would collide with this one

    monkeypatch.setattr(standard, "_download", fake_download)
    sizes: list[int] = []
    threads = [threading.Thread(target=lambda: sizes.append(len(download_dataset("mnist")))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1] and sizes == [30, 30]


def test_a_failed_download_leaves_no_partial_archive(tmp_path: Path) -> None:
    source = tmp_path / "archive.gz"
    source.write_bytes(b"x" * 1000)
    dest = tmp_path / "dest"
    dest.mkdir()

    def interrupted(n: int) -> None:
        raise ConnectionError("connection reset")

    with pytest.raises(ConnectionError):
        standard._fetch(source.as_uri(), dest / "copy.gz", "0" * 32, interrupted)
    assert list(dest.iterdir()) == []


def test_a_full_disk_during_a_download_is_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from core.data import standard

    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(standard, "_download", full)
    with pytest.raises(DatasetError, match="the disk is full"):
        standard.download_dataset("mnist")
