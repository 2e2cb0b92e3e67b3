"""Image files a test uploads: encoded bytes, noise, bad headers, drawn shapes, a phone photo of a digit."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from core import load_dataset
from core.data.shapes import draw_shape


def encode(image: Image.Image, fmt: str = "PNG", **kwargs: object) -> bytes:
    """Return the image saved in a format, as bytes."""
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """Return a PNG whose IHDR claims width x height but which holds almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Image.Image:
    """Return a random image that compresses badly, so damage lands in pixel data."""
    channels = len(mode)
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(arr.squeeze(-1) if channels == 1 else arr, mode)


def shape_files(kind: str, n: int, seed: int, fmt: str = "PNG") -> list[bytes]:
    """Return `n` encoded 96x96 drawings of one shape (circle, star, cross ...)."""
    rng = np.random.default_rng(seed)
    return [encode(Image.fromarray(draw_shape(kind, 96, rng)), fmt) for _ in range(n)]


def digit_photo(index: int = 0) -> tuple[Image.Image, str]:
    """A validation digit as a phone photo would show it: large, dark ink on white paper."""
    _, val = load_dataset("digits").split(0.2, seed=0)
    scan = val.to_pil(index).resize((240, 240), Image.Resampling.BICUBIC)
    photo = Image.new("RGB", (400, 300), "white")
    photo.paste(ImageOps.invert(scan).convert("RGB"), (80, 30))
    return photo, val.classes[int(val.labels[index])]


VIDEO_SIZE = (320, 240)
VIDEO_FPS = 10
SCENE_S = 3  # each photo stays this long on the fake webcam


def _yuv(image: Image.Image) -> bytes:
    y, cb, cr = (
        np.asarray(c, dtype=np.uint8) for c in image.convert("RGB").resize(VIDEO_SIZE).convert("YCbCr").split()
    )
    return y.tobytes() + cb[::2, ::2].tobytes() + cr[::2, ::2].tobytes()


def write_scenes(path: Path, *photos: Image.Image) -> Path:
    """Write a Y4M video showing each photo for SCENE_S seconds, for Chromium's fake webcam (it loops the file).

    Chromium takes it with `--use-fake-device-for-media-stream --use-fake-ui-for-media-stream
    --use-file-for-fake-video-capture=PATH`.
    """
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{VIDEO_SIZE[0]} H{VIDEO_SIZE[1]} F{VIDEO_FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for photo in photos:
            f.write((b"FRAME\n" + _yuv(photo)) * (VIDEO_FPS * SCENE_S))
    return path
