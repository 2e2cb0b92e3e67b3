"""Decoding real image files, good and bad, and fitting them to tensors."""

from __future__ import annotations

import io
import re
import time
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from core.data.images import IMAGE_EXTENSIONS, decode_image, fit_image, image_to_tensor, load_tensor, to_rgb
from core.errors import ImageError, LightboxError
from tests.helpers.images import encode, noise, png_header_only


def pixel(image: Image.Image, xy: tuple[int, int]) -> np.ndarray:
    return np.asarray(image)[xy[1], xy[0]].astype(int)


# --- files that must be refused, with a message ---------------------------------------------------


def test_empty_bytes_and_empty_file_are_refused(tmp_path):
    with pytest.raises(ImageError, match="empty"):
        decode_image(b"")
    path = tmp_path / "blank.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match=r"'blank.png' is empty"):
        decode_image(path)


def test_text_named_jpg_is_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list: eggs, milk\n" * 20)
    with pytest.raises(ImageError, match=r"'notes.jpg' is not an image.*PNG, JPEG") as info:
        decode_image(str(path))
    assert isinstance(info.value, LightboxError)


def test_missing_file_is_an_image_error(tmp_path):
    with pytest.raises(ImageError, match="cannot be opened"):
        decode_image(tmp_path / "nope.png")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_is_refused(fmt):
    data = encode(noise((64, 64)), fmt)
    with pytest.raises(ImageError, match="damaged or incomplete"):
        decode_image(data[: len(data) // 2])


def test_corrupt_png_pixel_data_is_refused():
    data = bytearray(encode(noise((64, 64)), "PNG"))
    start = data.index(b"IDAT") + 4
    data[start + 100 : start + 400] = bytes(range(256)) + bytes(44)  # garbage inside the zlib stream
    with pytest.raises(ImageError):
        decode_image(bytes(data))


@pytest.mark.parametrize("side", [50_000, 10_000, 7_000])
def test_huge_header_is_refused_quickly_without_decoding(side):
    data = png_header_only(side, side)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PIL's DecompressionBombWarning must not escape either
        with pytest.raises(ImageError, match="too large"):
            decode_image(data)
    assert time.perf_counter() - start < 0.5


def test_max_pixels_is_honoured():
    data = encode(Image.new("RGB", (20, 20)), "PNG")
    assert decode_image(data, max_pixels=400).size == (20, 20)
    with pytest.raises(ImageError, match="20 x 20 pixels"):
        decode_image(data, max_pixels=399)


# --- unusual but valid files ------------------------------------------------------------------------


def test_cmyk_jpeg_becomes_rgb():
    data = encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=95)  # red in ink
    image = decode_image(data)
    assert image.mode == "RGB" and image.size == (16, 16)
    assert np.abs(pixel(image, (8, 8)) - [255, 0, 0]).max() < 12


def test_sixteen_bit_png_is_scaled_not_clipped():
    arr = np.array([[0, 16384, 32768, 65535]], dtype=np.uint16)
    data = encode(Image.fromarray(arr), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")  # really a 16-bit file
    out = np.asarray(decode_image(data))[0, :, 0].astype(int)
    assert np.abs(out - [0, 64, 128, 255]).max() <= 1


def test_thirty_two_bit_mode_i_is_scaled():
    image = Image.fromarray(np.array([[0, 65535]], dtype=np.int32), "I")
    assert np.asarray(to_rgb(image))[0, :, 0].tolist() == [0, 255]
    small = Image.fromarray(np.array([[0, 200]], dtype=np.int32), "I")
    assert np.asarray(to_rgb(small))[0, :, 0].tolist() == [0, 200]


def test_palette_png_with_transparency_composites_on_white():
    image = Image.new("P", (4, 2), 0)
    image.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (2, 0, 4, 2))  # right half blue, left half the transparent index 0
    out = decode_image(encode(image, "PNG", transparency=0))
    assert pixel(out, (0, 0)).tolist() == [255, 255, 255]
    assert pixel(out, (3, 1)).tolist() == [0, 0, 255]


def test_rgba_and_la_composite_on_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 128))
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    out = decode_image(encode(rgba, "PNG"))
    assert pixel(out, (0, 0)).tolist() == [255, 255, 255]
    assert np.abs(pixel(out, (2, 2)) - [255, 127, 127]).max() <= 1
    la = decode_image(encode(Image.new("LA", (2, 2), (0, 0)), "PNG"))
    assert pixel(la, (1, 1)).tolist() == [255, 255, 255]


def test_grayscale_becomes_three_equal_channels():
    out = decode_image(encode(Image.new("L", (3, 3), 77), "PNG"))
    assert out.mode == "RGB" and pixel(out, (1, 1)).tolist() == [77, 77, 77]


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (8, 8), (255, 0, 0)), Image.new("RGB", (8, 8), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    assert pixel(decode_image(data), (4, 4)).tolist() == [255, 0, 0]


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20), (255, 255, 255))
    image.paste((0, 0, 0), (0, 0, 20, 20))  # left half black
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: turn 90 degrees clockwise to show upright
    out = decode_image(encode(image, "JPEG", exif=exif.tobytes(), quality=95))
    assert out.size == (20, 40)
    assert pixel(out, (10, 5)).max() < 40 and pixel(out, (10, 35)).min() > 215  # black on top


def test_path_file_object_and_bytes_agree(tmp_path):
    data = encode(noise((12, 9)), "PNG")
    path = tmp_path / "n.png"
    path.write_bytes(data)
    stream = io.BytesIO(data)
    images = [decode_image(data), decode_image(path), decode_image(stream)]
    stream.close()  # the image must not depend on its source staying open
    arrays = [np.asarray(im) for im in images]
    assert all(im.mode == "RGB" for im in images)
    assert all(np.array_equal(arrays[0], a) for a in arrays[1:])


# --- fitting and tensors ----------------------------------------------------------------------------


def test_fit_image_resizes_shorter_side_and_centre_crops():
    image = Image.new("RGB", (200, 100), (0, 255, 0))
    image.paste((255, 0, 0), (0, 0, 50, 100))
    image.paste((0, 0, 255), (150, 0, 200, 100))
    out = fit_image(image, 20)
    assert out.size == (20, 20) and out.mode == "RGB"
    assert np.abs(np.asarray(out).astype(int)[:, 2:-2] - [0, 255, 0]).max() < 30  # only green survives
    assert fit_image(image, (10, 30)).size == (30, 10)  # (height, width)
    gray = fit_image(Image.new("RGBA", (5, 7), (0, 0, 0, 0)), 4, channels=1)
    assert gray.mode == "L" and gray.size == (4, 4) and np.asarray(gray).min() == 255


def test_fit_image_upscales_small_images():
    assert fit_image(Image.new("RGB", (3, 5)), 16).size == (16, 16)


def test_image_to_tensor_layout_and_values():
    image = noise((5, 4))
    t = image_to_tensor(image, 3)
    assert t.shape == (3, 4, 5) and t.dtype == torch.uint8 and t.is_contiguous()
    assert torch.equal(t.permute(1, 2, 0), torch.from_numpy(np.asarray(image).copy()))
    g = image_to_tensor(image, 1)
    assert g.shape == (1, 4, 5)
    assert torch.equal(g[0], torch.from_numpy(np.asarray(image.convert("L")).copy()))
    with pytest.raises(ValueError):
        image_to_tensor(image, 2)


def test_load_tensor_uses_jpeg_draft_and_keeps_size():
    data = encode(Image.new("RGB", (1600, 1200), (10, 200, 30)), "JPEG")
    t = load_tensor(data, 32)
    assert t.shape == (3, 32, 32)
    assert (t.float().mean(dim=(1, 2)) - torch.tensor([10.0, 200.0, 30.0])).abs().max() < 6


def test_extensions_are_lowercase_with_dot():
    assert {".png", ".jpg", ".jpeg", ".gif"} <= IMAGE_EXTENSIONS
    assert all(e.startswith(".") and e == e.lower() for e in IMAGE_EXTENSIONS)


def test_every_file_picker_offers_the_types_the_decoder_reads():
    from pathlib import Path

    from core.data.images import UPLOAD_TYPES

    assert {f".{t}" for t in UPLOAD_TYPES} == IMAGE_EXTENSIONS
    root = Path(__file__).resolve().parent.parent
    for path in [*root.glob("pages/*.py"), *root.glob("dashboard/*.py")]:
        own = re.search(r"type=\[[^\]]*\"jpe?g\"", path.read_text())  # a file picker's own list of types
        assert own is None, f"{path.name} lists image types of its own: use UPLOAD_TYPES"
