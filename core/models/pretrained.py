"""torchvision's ImageNet-pretrained models: downloaded once, cached under Lightbox's home, loaded offline."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import torch
from torch import nn

from core.errors import UnknownNameError, WeightsError
from core.home import default_home
from core.seeding import global_generator

if TYPE_CHECKING:
    from torchvision.models import WeightsEnum

__all__ = ["network_available"]

Progress = Callable[[int, int], None]  # (bytes done, bytes in all; 0 when the server does not say)
NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)
OFFLINE_FALLBACK = "EfficientNet-Lite0, which ships with Lightbox"
CHUNK = 1 << 16


@dataclass(frozen=True)
class PretrainedSpec:
    """A torchvision architecture with its default ImageNet weights and the preprocessing they need."""

    name: str
    title: str
    builder: Callable[..., nn.Module]
    weights: WeightsEnum
    size_mb: float
    input_size: int  # side of the square centre crop
    resize_size: int  # shorter side before the crop
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str
    top1: float | None  # ImageNet-1K top-1 accuracy in %, as torchvision reports it

    @property
    def url(self) -> str:
        """Return the address torchvision downloads these weights from."""
        return str(self.weights.url)


def _spec(name: str, title: str) -> PretrainedSpec:
    """Describe torchvision model `name` from its DEFAULT weights' metadata and transforms."""
    from torchvision.models import get_model_builder, get_model_weights  # imported late: ~1 s and 170 MB

    weights = get_model_weights(name).DEFAULT  # type: ignore[attr-defined]
    preprocess = weights.transforms()
    metrics = weights.meta.get("_metrics", {}).get("ImageNet-1K", {})
    return PretrainedSpec(
        name=name,
        title=title,
        builder=get_model_builder(name),
        weights=weights,
        size_mb=float(weights.meta.get("_file_size", 0.0)),
        input_size=int(preprocess.crop_size[0]),
        resize_size=int(preprocess.resize_size[0]),
        mean=tuple(preprocess.mean),
        std=tuple(preprocess.std),
        interpolation=str(preprocess.interpolation.value),
        top1=metrics.get("acc@1"),
    )


# name -> (title, the weights file torchvision downloads, its size in MB): what menus and the cache check need,
# known without importing torchvision.models (about 1 s and 170 MB here). tests/test_lazy_api.py checks
# these against torchvision's own metadata.
TORCHVISION_MODELS: dict[str, tuple[str, str, float]] = {
    "resnet18": ("ResNet-18", "resnet18-f37072fd.pth", 44.661),
    "resnet50": ("ResNet-50", "resnet50-11ad3fa6.pth", 97.79),
    "mobilenet_v3_small": ("MobileNetV3-Small", "mobilenet_v3_small-047dcff4.pth", 9.829),
    "mobilenet_v3_large": ("MobileNetV3-Large", "mobilenet_v3_large-5c1a4163.pth", 21.107),
}
WEIGHTS_HOST = "download.pytorch.org"


class _Specs(Mapping[str, PretrainedSpec]):
    """The specs by name, each read from torchvision's weights metadata on first use."""

    def __init__(self) -> None:
        self._specs: dict[str, PretrainedSpec] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> PretrainedSpec:
        title = TORCHVISION_MODELS[name][0]
        with self._lock:
            if name not in self._specs:
                self._specs[name] = _spec(name, title)
            return self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(TORCHVISION_MODELS)

    def __len__(self) -> int:
        return len(TORCHVISION_MODELS)


TORCHVISION_PRETRAINED: Mapping[str, PretrainedSpec] = _Specs()


def get_spec(name: str) -> PretrainedSpec:
    """Return the spec for `name`, or raise UnknownNameError listing the choices."""
    if name not in TORCHVISION_MODELS:
        raise UnknownNameError("pretrained model", name, list(TORCHVISION_MODELS))
    return TORCHVISION_PRETRAINED[name]


def weights_cache_dir() -> Path:
    """Return the folder used as TORCH_HOME for downloaded weights (shared by a shared LIGHTBOX_HOME)."""
    return default_home() / "cache" / "torch"


def cached_weights_path(name: str) -> Path:
    """Return the file torchvision's load_state_dict_from_url would write for `name`'s weights."""
    if name not in TORCHVISION_MODELS:
        raise UnknownNameError("pretrained model", name, list(TORCHVISION_MODELS))
    return weights_cache_dir() / "hub" / "checkpoints" / TORCHVISION_MODELS[name][1]


def hub_weights_path(name: str) -> Path:
    """Return where torchvision itself keeps `name`'s weights once downloaded: torch.hub's cache ($TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / cached_weights_path(name).name


def find_weights(name: str) -> Path | None:
    """Return a file of `name`'s weights already on this machine (Lightbox's cache, then torch.hub's), or None."""
    return next((p for p in (cached_weights_path(name), hub_weights_path(name)) if p.is_file()), None)


def is_cached(name: str) -> bool:
    """Return whether `name`'s weights are already on this machine."""
    return find_weights(name) is not None


def imagenet_categories() -> list[str]:
    """Return the 1000 ImageNet class names in output order (torchvision's list, no download)."""
    from core.models.efficientnet_lite import imagenet_classes

    return list(imagenet_classes())


def network_available(timeout: float = 1.5) -> bool:
    """Return whether the weights host answers on port 443 within `timeout` seconds."""
    host = WEIGHTS_HOST
    result: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    # A thread bounds the wait: name resolution ignores the socket timeout.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _download_to(url: str, dst: Path, hash_prefix: str | None, progress: Progress | None) -> None:
    """Write `url` to `dst`, checking the SHA-256 prefix; raise a network error or WeightsError."""
    request = urllib.request.Request(url, headers={"User-Agent": "lightbox"})
    sha256 = hashlib.sha256()
    with urllib.request.urlopen(request, timeout=30) as response, open(dst, "wb") as f:
        total, done = int(response.headers.get("Content-Length") or 0), 0
        while chunk := response.read(CHUNK):
            f.write(chunk)
            sha256.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    if hash_prefix and not sha256.hexdigest().startswith(hash_prefix):
        raise WeightsError(f"The download from {url} arrived damaged (its checksum is wrong). Try again.")


def _hash_prefix(url: str) -> str | None:
    """Return the SHA-256 prefix torchvision puts in a weights file name (resnet18-f37072fd.pth)."""
    match = torch.hub.HASH_REGEX.search(os.path.basename(urlparse(url).path))
    return match.group(1) if match else None


def _unavailable(spec: PretrainedSpec, why: str) -> WeightsError:
    """Return the error for weights that are neither cached nor downloadable."""
    return WeightsError(
        f"The ImageNet weights for {spec.title} ({spec.size_mb:.0f} MB) are not on this machine "
        f"and cannot be downloaded now ({why}). Connect once to download them, or use {OFFLINE_FALLBACK}."
    )


def _read_state_dict(path: Path, spec: PretrainedSpec) -> dict[str, torch.Tensor]:
    """Load a plain state dict from `path`, refusing pickles that carry code."""
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # weights_only refusals, truncated zips and bad pickles all land here
        raise WeightsError(
            f"The weights file for {spec.title} at {path} is damaged or not a plain weights file, "
            f"so Lightbox will not load it. Delete it and download again. ({type(exc).__name__})"
        ) from exc
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"The weights file for {spec.title} at {path} does not hold a state dict.")
    return dict(state)


def _download(spec: PretrainedSpec, dst: Path, progress: Progress | None) -> dict[str, torch.Tensor]:
    """Download `spec`'s weights into the cache atomically and return them; leave no partial file."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".partial")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _download_to(spec.url, tmp, _hash_prefix(spec.url), progress)
        state = _read_state_dict(tmp, spec)
        os.replace(tmp, dst)
        return state
    except NETWORK_ERRORS as exc:
        raise _unavailable(spec, _describe(exc)) from exc
    except OSError as exc:
        raise WeightsError(f"The weights for {spec.title} could not be saved in {dst.parent}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _describe(exc: BaseException) -> str:
    """Say in a few words why a download failed."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered {exc.code} {exc.reason}"
    if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
        return "the connection timed out"
    return "no internet connection"


def load_pretrained(name: str, *, allow_download: bool = True, progress: Progress | None = None) -> nn.Module:
    """Build torchvision's `name` with its ImageNet weights, from the cache or downloaded once into it."""
    spec = get_spec(name)
    path = find_weights(name)
    if path is not None:
        state = _read_state_dict(path, spec)
    elif allow_download:
        path = cached_weights_path(name)
        state = _download(spec, path, progress)
    else:
        raise _unavailable(spec, "downloading is turned off")
    with global_generator():  # random weights drawn only to be overwritten, never amid a job's seeded draws
        model = spec.builder(weights=None)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise WeightsError(
            f"The weights file for {spec.title} at {path} does not fit the architecture. Delete it and download again."
        ) from exc
    return model
