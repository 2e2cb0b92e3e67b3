"""MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100: downloaded once, decoded once into a tensor cache."""

from __future__ import annotations

import hashlib
import http.client
import os
import pickle
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.data.base import ImageDataset
from core.errors import DatasetError, UnknownNameError
from core.home import atomic_write_bytes, default_home, write_problem
from core.models.pretrained import network_available

__all__ = ["download_dataset"]

StageProgress = Callable[[int, int, str], None]  # (done, total, stage): stage is "download", "extract" or "decode"
NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)
SPLITS = ("train", "test")
CHUNK = 1 << 16
_locks: dict[str, threading.RLock] = {}  # one download or decode of a dataset at a time in this process
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class StandardSpec:
    """A public dataset torchvision knows how to fetch, and how Lightbox describes it."""

    name: str
    title: str
    summary: str
    torchvision_class: str  # a class in torchvision.datasets: its URLs, checksums and file names
    download_bytes: int  # the archives' total size, for the progress bar and the "needs ~N MB" note
    dark_background: bool

    @property
    def download_mb(self) -> int:
        return round(self.download_bytes / 1e6)

    @property
    def is_idx(self) -> bool:
        """Whether the files are MNIST-style idx files (otherwise CIFAR-style pickled batches)."""
        return "MNIST" in self.torchvision_class


STANDARD: dict[str, StandardSpec] = {
    s.name: s
    for s in (
        StandardSpec("mnist", "MNIST digits", "70,000 handwritten digits 0-9, 28x28 grey.", "MNIST", 11_594_722, True),
        StandardSpec(
            "fashion-mnist",
            "Fashion-MNIST clothes",
            "70,000 pictures of clothes and shoes in 10 kinds, 28x28 grey.",
            "FashionMNIST",
            30_878_645,
            True,
        ),
        StandardSpec(
            "cifar10",
            "CIFAR-10 photos",
            "60,000 small colour photos of planes, cars, birds, cats and 6 more things, 32x32.",
            "CIFAR10",
            170_498_071,
            False,
        ),
        StandardSpec(
            "cifar100",
            "CIFAR-100 photos",
            "60,000 small colour photos of 100 things, 32x32.",
            "CIFAR100",
            169_001_437,
            False,
        ),
    )
}


def _spec(name: str) -> StandardSpec:
    if name not in STANDARD:
        raise UnknownNameError("standard dataset", name, list(STANDARD))
    return STANDARD[name]


def _torchvision_class(spec: StandardSpec) -> type:
    import torchvision.datasets  # imported late: only a download or a first decode needs it

    return getattr(torchvision.datasets, spec.torchvision_class)


def datasets_root() -> Path:
    """Return the folder torchvision's files and Lightbox's tensor caches live in."""
    return default_home() / "cache" / "datasets"


def tensor_cache_path(name: str, split: str = "train") -> Path:
    """Return the decoded uint8 tensor file of one split."""
    return datasets_root() / f"{name}-{split}.pt"


def _raw_files(spec: StandardSpec) -> list[Path]:
    """Return the decompressed files torchvision reads, where it expects them."""
    cls = _torchvision_class(spec)
    if spec.is_idx:
        raw = datasets_root() / cls.__name__ / "raw"
        return [raw / os.path.splitext(filename)[0] for filename, _ in cls.resources]
    folder = datasets_root() / cls.base_folder
    return [folder / f for f, _ in cls.train_list + cls.test_list] + [folder / cls.meta["filename"]]


def is_cached(name: str) -> bool:
    """Return whether `name` can load without a network: decoded already, or its files are on disk."""
    spec = _spec(name)
    if all(tensor_cache_path(name, s).is_file() for s in SPLITS):
        return True
    return all(p.is_file() for p in _raw_files(spec))


def standard_version(name: str) -> tuple[str, int] | None:
    """Return the training split's tensor file and its modification time, or None before it is decoded."""
    path = tensor_cache_path(name, "train")
    try:
        return str(path), path.stat().st_mtime_ns
    except OSError:
        return None


def _not_downloaded(spec: StandardSpec) -> DatasetError:
    size = f"about {spec.download_mb} MB"
    if network_available():
        return DatasetError(
            f"{spec.title} is not downloaded yet: download it ({size}) with the Download button on the Data page "
            f"or `python -m core download {spec.name}`."
        )
    return DatasetError(
        f"{spec.title} is not downloaded yet and this machine is offline; connect to the internet and run "
        f"`python -m core download {spec.name}` ({size}), or copy torchvision's files into {datasets_root()}."
    )


def _fetch(url: str, dst: Path, md5: str, progress: Callable[[int], None]) -> None:
    """Write `url` to `dst` in chunks, checking the MD5 torchvision publishes for it."""
    digest = hashlib.md5(usedforsecurity=False)
    request = urllib.request.Request(url, headers={"User-Agent": "lightbox"})
    fd, part = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".part")  # no half archive at dst
    try:
        with urllib.request.urlopen(request, timeout=30) as response, os.fdopen(fd, "wb") as f:
            while chunk := response.read(CHUNK):
                f.write(chunk)
                digest.update(chunk)
                progress(len(chunk))
        if digest.hexdigest() != md5:
            raise DatasetError(f"The download from {url} arrived damaged (its checksum is wrong). Try again.")
        os.replace(part, dst)
    finally:
        Path(part).unlink(missing_ok=True)


def _archives(spec: StandardSpec) -> list[tuple[list[str], str, str]]:
    """Return (mirror URLs, file name, MD5) for each archive torchvision downloads for `spec`."""
    cls = _torchvision_class(spec)
    if spec.is_idx:
        return [([m + f for m in cls.mirrors], f, md5) for f, md5 in cls.resources]
    return [([cls.url], cls.filename, cls.tgz_md5)]


def _download(spec: StandardSpec, progress: StageProgress) -> None:
    """Download and extract the archives into the folders torchvision reads."""
    from torchvision.datasets.utils import extract_archive

    if not network_available():
        raise _not_downloaded(spec)
    archives = _archives(spec)
    dest = datasets_root() / _torchvision_class(spec).__name__ / "raw" if spec.is_idx else datasets_root()
    dest.mkdir(parents=True, exist_ok=True)
    done = [0]

    def step(n: int) -> None:
        done[0] += n
        progress(min(done[0], spec.download_bytes), spec.download_bytes, "download")

    for urls, filename, md5 in archives:
        for url in urls:  # the first mirror that answers wins
            try:
                _fetch(url, dest / filename, md5, step)
                break
            except NETWORK_ERRORS as exc:
                error = exc
        else:
            raise DatasetError(f"{spec.title} could not be downloaded ({error}). Check the connection and try again.")
    for i, (_, filename, _) in enumerate(archives):
        progress(i, len(archives), "extract")
        extract_archive(str(dest / filename), str(dest), remove_finished=True)
    progress(len(archives), len(archives), "extract")


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickle only dicts, lists, strings, numbers and numpy arrays: a CIFAR batch can carry no code."""

    ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR batch")
        return super().find_class(module, name)


def _read_pickle(path: Path) -> dict:
    with open(path, "rb") as f:
        return _ArrayUnpickler(f, encoding="latin1").load()


def _decode_cifar(spec: StandardSpec, split: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Read CIFAR batches the way torchvision's CIFAR10 does, minus its MD5 check of every batch file."""
    cls = _torchvision_class(spec)
    folder = datasets_root() / cls.base_folder
    images, labels = [], []
    for filename, _ in cls.train_list if split == "train" else cls.test_list:
        entry = _read_pickle(folder / filename)
        images.append(np.asarray(entry["data"], dtype=np.uint8))  # (n, 3*32*32), channel-major
        labels.extend(entry["labels"] if "labels" in entry else entry["fine_labels"])
    classes = list(_read_pickle(folder / cls.meta["filename"])[cls.meta["key"]])
    pixels = torch.from_numpy(np.concatenate(images)).reshape(-1, 3, 32, 32)  # (N, 3, 32, 32)
    return pixels, torch.tensor(labels, dtype=torch.long), classes


def _decode_idx(spec: StandardSpec, split: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Read idx files through torchvision's own MNIST class (it checks them and knows the format)."""
    tv = _torchvision_class(spec)(str(datasets_root()), train=split == "train", download=False)
    classes = [c.split(" - ")[0] for c in tv.classes]  # MNIST's "0 - zero" -> "0"
    return tv.data.unsqueeze(1).contiguous(), tv.targets.long(), classes  # (N, 1, 28, 28)


def _decode(spec: StandardSpec, progress: StageProgress) -> None:
    """Decode both splits once and save them as uint8 tensor files next to the raw files."""
    for i, split in enumerate(SPLITS):
        progress(i, len(SPLITS), "decode")
        try:
            images, labels, classes = (_decode_idx if spec.is_idx else _decode_cifar)(spec, split)
        except (OSError, RuntimeError, ValueError, KeyError, TypeError, pickle.UnpicklingError, EOFError) as exc:
            raise DatasetError(
                f"{spec.title}'s files in {datasets_root()} are damaged or incomplete ({exc}). "
                f"Delete that folder and download again."
            ) from exc
        data = {"images": images, "labels": labels, "classes": classes}
        try:  # never a half-written cache, nor a temporary file left behind
            atomic_write_bytes(tensor_cache_path(spec.name, split), lambda f, data=data: torch.save(data, f))
        except OSError as exc:
            raise DatasetError(
                f"{spec.title} could not be saved in {datasets_root()} ({write_problem(exc)}); "
                "free some space or set LIGHTBOX_HOME to a folder on a bigger disk."
            ) from exc
    progress(len(SPLITS), len(SPLITS), "decode")


def _read_cache(spec: StandardSpec, split: str) -> ImageDataset | None:
    """Return the decoded split, or None when its tensor file is missing or unusable."""
    try:
        data = torch.load(tensor_cache_path(spec.name, split), weights_only=True)
        return ImageDataset(
            name=spec.name,
            images=data["images"],
            labels=data["labels"],
            classes=tuple(data["classes"]),
            description=f"{spec.summary} The official {split} split: {len(data['labels']):,} images.",
            dark_background=spec.dark_background,
            source=f"torchvision.datasets.{spec.torchvision_class}, {split} split",
        )
    except (OSError, RuntimeError, KeyError, TypeError, pickle.UnpicklingError, DatasetError):
        return None


def _ignore(done: int, total: int, stage: str) -> None:
    return None


def _lock(name: str) -> threading.RLock:
    """Return the lock that keeps two sessions from downloading or decoding `name` into the same files at once."""
    with _locks_guard:
        return _locks.setdefault(name, threading.RLock())


def load_standard(name: str, split: str = "train", progress: StageProgress | None = None) -> ImageDataset:
    """Return a split from the tensor cache, decoding torchvision's files once; never download."""
    spec = _spec(name)
    if split not in SPLITS:
        raise DatasetError(f"{spec.title} has a 'train' and a 'test' split, not '{split}'.")
    cached = _read_cache(spec, split)
    if cached is not None:
        return cached
    if not all(p.is_file() for p in _raw_files(spec)):
        raise _not_downloaded(spec)
    with _lock(name):
        dataset = _read_cache(spec, split)  # another session may have decoded it while this one waited
        if dataset is None:
            _decode(spec, progress or _ignore)
            dataset = _read_cache(spec, split)
    if dataset is None:
        raise DatasetError(f"{spec.title} was decoded but its cache in {datasets_root()} cannot be read back.")
    return dataset


def download_dataset(name: str, progress: StageProgress | None = None) -> ImageDataset:
    """Download `name` if its files are missing, decode it once, and return its training split."""
    spec = _spec(name)
    progress = progress or _ignore
    with _lock(name):
        if not is_cached(name):
            try:
                _download(spec, progress)
            except OSError as exc:  # network errors are handled inside; this is the disk
                raise DatasetError(
                    f"{spec.title} could not be saved under '{datasets_root()}': {write_problem(exc)}. "
                    "Free some space or set LIGHTBOX_HOME to a folder on a bigger disk."
                ) from exc
        return load_standard(name, "train", progress)
