"""The dataset registry: names the UI and CLI offer, and one load_dataset() for all of them."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from core.cache import single_flight
from core.config import DataConfig, TrainConfig
from core.data.base import ImageDataset
from core.data.digits import load_digits_dataset
from core.data.folder import DEFAULT_LIMITS, ImportLimits, Progress, load_image_folder
from core.data.shapes import generate_shapes
from core.data.standard import STANDARD, is_cached, load_standard, standard_version
from core.data.user import (
    UserDatasetInfo,
    check_name,
    delete_user_dataset,
    list_user_datasets,
    load_user_dataset,
    user_dataset_version,
    write_user_dataset,
)
from core.errors import DatasetError, UnknownNameError
from core.sharing import SERVER

__all__ = ["DATASETS", "DatasetSpec", "default_train_config", "import_dataset", "load_dataset", "save_user_dataset"]


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset: how to load it and which DataConfig options it reads."""

    name: str
    title: str
    summary: str
    loader: Callable[[DataConfig], ImageDataset]
    options: tuple[str, ...] = ()
    default_image_size: int | None = None
    default_samples: int | None = None
    download_mb: int = 0  # the first download's size; 0 for embedded and generated datasets
    is_cached: Callable[[], bool] | None = None  # None: always on this machine
    train_defaults: dict[str, object] = field(default_factory=dict)  # TrainConfig fields that differ for this data

    def needs_download(self) -> bool:
        """Return whether loading needs a download first (the UI says so and offers one)."""
        return self.is_cached is not None and not self.is_cached()


# Shapes at 32 px, 2,000 images, 10 epochs of constant-rate Adam sat at chance for 8 epochs (40% after 69 s):
# 16 px images are 4x cheaper, 4,000 of them and a one-cycle rate at 0.01 reach about 93% in 5 epochs
# (benchmarks/defaults.py).
SHAPES_SIZE, SHAPES_SAMPLES = 16, 4000


def _load_shapes(cfg: DataConfig) -> ImageDataset:
    samples = cfg.samples or SHAPES_SAMPLES
    size = cfg.image_size or SHAPES_SIZE
    if not 50 <= samples <= 50_000:
        raise DatasetError(f"Shapes can generate 50 to 50,000 images, not {samples}.")
    if not 8 <= size <= 128:
        raise DatasetError(f"Shapes can draw images of 8 to 128 pixels, not {size}.")
    return generate_shapes(samples=samples, image_size=size, seed=0)


def _load_standard(cfg: DataConfig) -> ImageDataset:
    return load_standard(cfg.name, "train")  # the official test split stays unseen, for a later test page


DATASETS: dict[str, DatasetSpec] = {
    "digits": DatasetSpec(
        "digits",
        "Handwritten digits",
        "1,797 scanned digits 0-9, 8x8 grey pixels.",
        lambda cfg: load_digits_dataset(),
    ),
    "shapes": DatasetSpec(
        "shapes",
        "Coloured shapes",
        "Generated circles, squares, triangles, stars and crosses on noisy colour.",
        _load_shapes,
        options=("image_size", "samples"),
        default_image_size=SHAPES_SIZE,
        default_samples=SHAPES_SAMPLES,
        train_defaults={"epochs": 5, "batch_size": 32, "lr": 0.01, "schedule": "onecycle"},
    ),
    **{
        name: DatasetSpec(
            name,
            spec.title,
            f"{spec.summary} Downloaded once; trains on its official training split.",
            _load_standard,
            download_mb=spec.download_mb,
            is_cached=functools.partial(is_cached, name),
        )
        for name, spec in STANDARD.items()
    },
}


def default_train_config(dataset: str) -> TrainConfig:
    """Return the training settings that reach a result worth showing on `dataset` (the page's and CLI's defaults)."""
    spec = DATASETS.get(dataset)
    return replace(TrainConfig(), **spec.train_defaults) if spec else TrainConfig()  # type: ignore[arg-type]


def _is_folder_source(name: str) -> bool:
    path = Path(name).expanduser()
    return path.is_dir() or (path.suffix.lower() == ".zip" and path.is_file())


_MB = 1 << 20


def _nbytes(dataset: ImageDataset) -> int:
    return dataset.images.numel() * dataset.images.element_size()


def load_dataset(cfg: DataConfig | str) -> ImageDataset:
    """Load a registered dataset, an imported one, or an ImageFolder tree / .zip given as a path."""
    if isinstance(cfg, str):
        cfg = DataConfig(name=cfg)
    if cfg.name not in DATASETS:
        version = user_dataset_version(cfg.name, cfg.owner)  # a new key after a re-import: never stale
        if version is not None:
            return _load_user_cached(cfg.name, cfg.owner, version)
    if cfg.name in STANDARD:  # keyed by its cache file, so another home or a new download is never stale
        version = standard_version(cfg.name)
        return load_standard(cfg.name) if version is None else _load_standard_cached(cfg.name, version)
    return _load_cached(cfg.name, cfg.image_size, cfg.samples)


@single_flight(max_entries=2, max_bytes=400 * _MB, size_of=_nbytes)
def _load_standard_cached(name: str, version: tuple[str, int]) -> ImageDataset:
    return load_standard(name)


@single_flight(max_entries=4, max_bytes=256 * _MB, size_of=_nbytes)
def _load_user_cached(name: str, owner: str | None, version: tuple[int, int, int]) -> ImageDataset:
    return load_user_dataset(name, owner)


def forget_user_datasets() -> None:
    """Drop every imported dataset held in memory (after a sweep deleted some from disk)."""
    _load_user_cached.cache_clear()


@single_flight(max_entries=8, max_bytes=256 * _MB, size_of=_nbytes)
def _load_cached(name: str, image_size: int | None, samples: int | None) -> ImageDataset:
    cfg = DataConfig(name=name, image_size=image_size, samples=samples)
    if name in DATASETS:
        return DATASETS[name].loader(cfg)
    if _is_folder_source(name):
        return load_image_folder(os.path.expanduser(name), image_size=image_size or 64)
    choices = [*DATASETS, *(d.name for d in list_user_datasets(cfg.owner)), "a folder of class folders", "a .zip"]
    raise UnknownNameError("dataset", name, choices)


def check_dataset_name(name: str) -> str:
    """Return `name` if a user's dataset may take it: a valid file name that no built-in dataset has."""
    check_name(name)
    if name.lower() in {n.lower() for n in DATASETS}:
        raise DatasetError(f"'{name}' is a built-in dataset. Choose another name, e.g. my-{name}.")
    return name


def save_user_dataset(dataset: ImageDataset, owner: str | None = None) -> Path:
    """Keep a dataset under its name for `owner` (None: the server), replacing one of that name; return its path."""
    check_dataset_name(dataset.name)
    return write_user_dataset(dataset, owner)


def _kept_as(name: str, owner: str | None) -> list[UserDatasetInfo]:
    """Return `owner`'s imported datasets called `name`, capitals aside: "Pets" and "pets" would be one file on
    macOS and Windows, and two look-alike entries in every dataset list elsewhere."""
    return [
        d for d in list_user_datasets(owner) if d.name.casefold() == name.casefold() and d.owner == (owner or SERVER)
    ]


def check_free_name(name: str, owner: str | None = None) -> None:
    """Raise DatasetError if `owner` (None: the server) already keeps an imported dataset called `name` (capitals
    aside)."""
    same = _kept_as(name, owner)
    if same:
        raise DatasetError(
            f"There is a dataset called '{same[0].name}' already ({same[0].images:,} images): choose another name, "
            "or delete that one first."
        )


def import_dataset(
    name: str,
    source: str | os.PathLike | bytes | BinaryIO,
    *,
    image_size: int = 64,
    progress: Progress | None = None,
    owner: str | None = None,
    replace: bool = False,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> ImageDataset:
    """Decode an ImageFolder tree (folder, .zip path, bytes or file) and keep it as `owner`'s dataset `name`.

    A dataset of that name of the same owner is replaced only with `replace`: runs trained on it then cannot show
    or score its images again (their numbers and curves stay). `limits` bound what one import may hold.
    """
    check_dataset_name(name)
    if not replace:
        check_free_name(name, owner)
    dataset = load_image_folder(source, image_size=image_size, name=name, progress=progress, limits=limits)
    if replace:  # "Pets" takes the place of "pets" (without `replace`, check_free_name found none)
        for old in _kept_as(name, owner):
            if old.name != name:
                delete_user_dataset(old.name, owner)
    save_user_dataset(dataset, owner)
    return dataset
