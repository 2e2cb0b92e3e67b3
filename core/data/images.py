"""Decode untrusted image files into plain RGB PIL images, and fit them to a tensor size."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ImageError

if TYPE_CHECKING:
    import torch

__all__ = ["UPLOAD_TYPES", "decode_image", "fit_image"]

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
)
UPLOAD_TYPES: tuple[str, ...] = tuple(sorted(e[1:] for e in IMAGE_EXTENSIONS))  # for file pickers: no dots
DEFAULT_MAX_PIXELS = 40_000_000  # a 40-megapixel photo; bigger headers are refused before decoding
READABLE_TYPES = "PNG, JPEG, GIF, BMP, WebP or TIFF"
# Errors PIL's decoders raise on damaged data; anything here means "this file is broken".
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError)

ImageSource = bytes | str | os.PathLike | BinaryIO


def is_image_name(name: str) -> bool:
    """Return whether a file name has an image extension Lightbox reads."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def describe_source(source: ImageSource) -> str:
    """Return a short, quoted name for a source to use in messages."""
    if isinstance(source, (str, os.PathLike)):
        return f"'{os.path.basename(os.fspath(source))}'"
    name = getattr(source, "name", None)
    return f"'{os.path.basename(name)}'" if isinstance(name, str) and name else "The file"


@contextmanager
def _open_stream(source: ImageSource, label: str) -> Iterator[BinaryIO]:
    """Yield a seekable binary stream for the source, refusing an empty or missing file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        stream: BinaryIO = io.BytesIO(bytes(source))
        owned = False
    elif isinstance(source, (str, os.PathLike)):
        try:
            stream, owned = open(source, "rb"), True  # noqa: SIM115 - closed in finally
        except OSError as exc:
            raise ImageError(f"{label} cannot be opened ({exc.strerror or exc}). Check the path.") from exc
    else:
        stream, owned = source, False
        if not stream.seekable():  # PIL needs to seek; read a one-way stream into memory
            stream = io.BytesIO(stream.read())
    try:
        start = stream.tell()
        if not stream.read(1):
            raise ImageError(f"{label} is empty (0 bytes). Upload or copy the file again.")
        stream.seek(start)
        yield stream
    finally:
        if owned:
            stream.close()


def _open_checked(stream: BinaryIO, label: str, max_pixels: int) -> Image.Image:
    """Open an image lazily and refuse it from its header if it claims too many pixels."""
    too_big = f"{label} is too large to open safely"
    try:
        image = Image.open(stream)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{too_big}. Shrink it to under {max_pixels:,} pixels and try again.") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(
            f"{label} is not an image Lightbox can read: it may be another kind of file renamed "
            f"with an image extension. Save it as a {READABLE_TYPES} file and try again."
        ) from exc
    except _DECODE_ERRORS as exc:
        raise ImageError(f"{label} is damaged ({exc}). Re-save or re-download it and try again.") from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            f"{too_big}: it is {width:,} x {height:,} pixels, more than the limit of {max_pixels:,}. "
            "Shrink it and try again."
        )
    if width < 1 or height < 1:
        raise ImageError(f"{label} has no pixels ({width} x {height}). Re-save it and try again.")
    return image


def decode_image(
    source: ImageSource,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft_size: tuple[int, int] | None = None,
) -> Image.Image:
    """Decode an image file into a fully loaded RGB image, or raise ImageError saying what is wrong.

    `draft_size` (width, height) lets a JPEG decode at a reduced scale that still covers that size.
    """
    label = describe_source(source)
    with _open_stream(source, label) as stream:
        image = _open_checked(stream, label, max_pixels)
        try:
            if draft_size is not None and image.format == "JPEG":
                image.draft(None, draft_size)
            image.seek(0)  # the first frame of an animation
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(f"{label} is too large to open safely. Shrink it and try again.") from exc
        except _DECODE_ERRORS as exc:
            raise ImageError(
                f"{label} is damaged or incomplete ({exc}). Re-save or re-download it and try again."
            ) from exc
        image = _apply_orientation(image)
        try:
            return to_rgb(image)
        except _DECODE_ERRORS as exc:
            raise ImageError(
                f"{label} uses a colour format Lightbox cannot convert ({image.mode}). "
                f"Save it as an RGB {READABLE_TYPES} file and try again."
            ) from exc


def _apply_orientation(image: Image.Image) -> Image.Image:
    """Rotate the image upright from its EXIF orientation, ignoring broken EXIF data."""
    try:
        return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:  # a bad EXIF block should not lose an otherwise good picture
        return image


def _high_bit_depth_to_l(image: Image.Image) -> Image.Image:
    """Scale a 16-bit or 32-bit single-channel image to 8-bit grayscale."""
    arr = np.asarray(image).astype(np.float64)
    if image.mode.startswith("I;16"):
        arr = arr / 257.0  # 65535 -> 255
    elif arr.size and (arr.min() < 0 or arr.max() > 255):
        low, high = (0.0, 65535.0) if arr.min() >= 0 and arr.max() <= 65535 else (arr.min(), arr.max())
        arr = (arr - low) * (255.0 / max(high - low, 1e-12))
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))


def to_rgb(image: Image.Image) -> Image.Image:
    """Return an RGB copy of any-mode image: alpha composited on white, 16-bit scaled to 8."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        return _high_bit_depth_to_l(image).convert("RGB")
    if (image.mode == "P" and "transparency" in image.info) or image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def fit_image(image: Image.Image, size: int | tuple[int, int], channels: int = 3) -> Image.Image:
    """Resize so the image covers `size` (height, width), centre-crop to it, convert to L or RGB."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    height, width = (size, size) if isinstance(size, int) else size
    image = to_rgb(image) if image.mode != "RGB" else image
    w, h = image.size
    scale = max(width / w, height / h)
    new_w, new_h = max(width, round(w * scale)), max(height, round(h * scale))
    if (new_w, new_h) != (w, h):
        image = image.resize((new_w, new_h), Image.Resampling.LANCZOS, reducing_gap=3.0)
    left, top = (new_w - width) // 2, (new_h - height) // 2
    image = image.crop((left, top, left + width, top + height))
    return image.convert("L") if channels == 1 else image


def image_to_tensor(image: Image.Image, channels: int = 3) -> torch.Tensor:
    """Return the image as a (C, H, W) uint8 tensor with 1 or 3 channels."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    mode = "L" if channels == 1 else "RGB"
    if image.mode != mode:
        image = image.convert(mode) if image.mode in ("L", "RGB") else to_rgb(image).convert(mode)
    import torch  # imported late: decoding an image (the command line's onnxruntime path) needs no torch

    arr = np.asarray(image, dtype=np.uint8).reshape(image.height, image.width, channels)  # (H, W, C)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()  # (C, H, W)


def load_tensor(
    source: ImageSource,
    size: int | tuple[int, int],
    channels: int = 3,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> torch.Tensor:
    """Decode, fit and convert an image file into a (C, H, W) uint8 tensor in one step."""
    height, width = (size, size) if isinstance(size, int) else size
    side = max(height, width)  # draft keeps both sides >= this, whatever the EXIF rotation
    image = decode_image(source, max_pixels=max_pixels, draft_size=(side, side))
    return image_to_tensor(fit_image(image, (height, width), channels), channels)
