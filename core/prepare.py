"""What a model expects and how any image is brought to it, with numpy and PIL alone (no torch).

`InputSpec` is saved with every run's weights and inside every exported file; `prepare_array` turns a PIL
image into the (1, C, H, W) float array in [0, 1] that a model of that spec takes, and `top_classes` reads
a probability vector back as named answers. The PyTorch `Predictor` (core.inference) and the onnxruntime
one (core.onnx_predictor) share them, so both see an image pixel for pixel the same way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from core.errors import WeightsError

__all__ = ["Classification", "InputSpec", "Prediction", "model_view", "prepare_array"]


@dataclass(frozen=True)
class InputSpec:
    """What a model expects: saved with its weights so any image can be brought to that form."""

    channels: int
    height: int
    width: int
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    dark_background: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["classes"], d["mean"], d["std"] = list(self.classes), list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputSpec:
        return cls(
            channels=int(d["channels"]),
            height=int(d["height"]),
            width=int(d["width"]),
            classes=tuple(d["classes"]),
            mean=tuple(d["mean"]),
            std=tuple(d["std"]),
            dark_background=bool(d.get("dark_background", False)),
            extra=dict(d.get("extra", {})),
        )


@dataclass(frozen=True)
class Prediction:
    """One class and the model's probability for it."""

    label: str
    index: int
    probability: float


@dataclass(frozen=True)
class Classification:
    """The top classes for one image and the time the model took (preparing the image included)."""

    predictions: list[Prediction]
    latency_ms: float


def _crop_to_ink(gray: Image.Image) -> Image.Image:
    """Crop a light-on-dark image to its ink, padded square, as the digits scans were framed."""
    arr = np.asarray(gray, dtype=np.float32)
    mask = arr > max(arr.max() * 0.35, 40)
    if not mask.any():
        return gray
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    box = gray.crop((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))
    side = int(max(box.size) * 1.15) + 1
    canvas = Image.new("L", (side, side), 0)
    canvas.paste(box, ((side - box.width) // 2, (side - box.height) // 2))
    return canvas


# torchvision's InterpolationMode names -> PIL's resampling filters, as torchvision maps them for a PIL image
_PIL_FILTERS = {"nearest": 0, "nearest-exact": 0, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5, "lanczos": 1}


def resize_and_crop(image: Image.Image, resize: int, crop: tuple[int, int], interpolation: str) -> Image.Image:
    """Resize the shorter side to `resize`, then take the central `crop` (H, W), as `weights.transforms()` does.

    torchvision's resize and center_crop on a PIL image, pixel for pixel (tests/test_pretrained.py compares
    them), in PIL alone: an ONNX copy of a torchvision model answers without importing torch.
    """
    if interpolation not in _PIL_FILTERS:
        raise WeightsError(f"This model asks for an unknown way of resizing images ('{interpolation}').")
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = resize, int(resize * long / short)
    size = (new_short, new_long) if w <= h else (new_long, new_short)  # (width, height)
    if size != (w, h):
        image = image.resize(size, _PIL_FILTERS[interpolation])
    height, width = crop
    top, left = round((size[1] - height) / 2.0), round((size[0] - width) / 2.0)  # as torchvision rounds
    return image.crop((left, top, left + width, top + height))


def _fitted(image: Image.Image, spec: InputSpec) -> Image.Image:
    """Return the image in the model's mode, size and framing (a PIL image)."""
    image = ImageOps.exif_transpose(image) if hasattr(image, "getexif") else image
    if spec.channels == 1:
        image = image.convert("L")
        if spec.dark_background:
            if np.asarray(image).mean() > 127:  # dark ink on light paper: flip to the training look
                image = ImageOps.invert(image)
            if min(image.size) > 2 * max(spec.width, spec.height):  # a photo, not a scan at model size
                image = _crop_to_ink(image)
    else:
        image = image.convert("RGB")
    if image.size == (spec.width, spec.height):
        # An image already at the input size (a saved adversarial image, say) reaches the model pixel for pixel.
        return image
    if "interpolation" in spec.extra:  # as torchvision weights' transforms() say
        return resize_and_crop(image, int(spec.extra["resize"]), (spec.height, spec.width), spec.extra["interpolation"])
    if "resize" in spec.extra:  # ImageNet style: shorter side to `resize`, then the central crop
        bleed = (1 - min(spec.width, spec.height) / float(spec.extra["resize"])) / 2
        return ImageOps.fit(image, (spec.width, spec.height), method=Image.Resampling.BICUBIC, bleed=bleed)
    return ImageOps.fit(image, (spec.width, spec.height), method=Image.Resampling.BOX)


def _pixels(image: Image.Image, spec: InputSpec) -> np.ndarray:
    """Return the fitted image as a (H, W, C) uint8 array."""
    return np.asarray(_fitted(image, spec), dtype=np.uint8).reshape(spec.height, spec.width, spec.channels)


def prepare_array(image: Image.Image, spec: InputSpec) -> np.ndarray:
    """Convert a PIL image to the (1, C, H, W) float32 array in [0, 1] that a model of `spec` takes."""
    x = np.ascontiguousarray(_pixels(image, spec).transpose(2, 0, 1)[None], dtype=np.float32)  # one copy, in order
    x /= np.float32(255.0)
    return x


def model_view(image: Image.Image, spec: InputSpec) -> Image.Image:
    """Return the image as a model of `spec` receives it (size, channels, framing), for display."""
    x = _pixels(image, spec)
    return Image.fromarray(x[:, :, 0] if spec.channels == 1 else x)


def top_classes(probs: np.ndarray, classes: Sequence[str], top_k: int, latency_ms: float) -> Classification:
    """Return the top_k classes of a probability vector (classes,), most probable first."""
    order = np.argsort(-probs)[: max(1, min(top_k, len(probs)))]
    return Classification([Prediction(classes[i], int(i), float(probs[i])) for i in order], latency_ms)


def classify_with(
    probabilities: Callable[[Image.Image], np.ndarray],
    classes: Sequence[str],
    image: Image.Image | str | os.PathLike[str],
    top_k: int,
) -> Classification:
    """Return the top_k classes that `probabilities` gives an image (or an image file, read as the command line
    reads it), and how long preparing and answering took."""
    if not isinstance(image, Image.Image):
        from core.data.images import decode_image  # imported late: a path only

        image = decode_image(image)
    start = time.perf_counter()
    probs = probabilities(image)
    return top_classes(probs, classes, top_k, (time.perf_counter() - start) * 1000)
