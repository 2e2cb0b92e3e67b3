"""Every awkward file of issue #6 through the pages people use and the command line: a sentence or an answer."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from dashboard.text import plain
from tests.helpers.images import encode, noise, png_header_only
from tests.helpers.pages import button, open_page


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored on its side: shown turned 90 degrees clockwise
    return encode(noise((64, 32)), "JPEG", exif=exif.tobytes(), quality=90)


def _gif() -> bytes:
    frames = [Image.new("RGB", (32, 32), (255, 0, 0)), Image.new("RGB", (32, 32), (0, 0, 255))]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _palette_with_transparency() -> bytes:
    image = noise((32, 32)).convert("P")
    return encode(image, "PNG", transparency=0)


REFUSED = {
    "empty.png": b"",
    "holiday.jpg": b"this is a text file, not a photo\n" * 20,
    "truncated.jpg": encode(noise((256, 256)), "JPEG", quality=90)[:3000],
    "huge.png": png_header_only(50_000, 50_000),
}
SAYS = {"empty.png": "empty", "holiday.jpg": "image", "truncated.jpg": "image", "huge.png": "too large"}
ACCEPTED = {
    "cmyk.jpg": encode(noise((48, 48), "CMYK"), "JPEG"),
    "sixteen-bit.png": encode(Image.fromarray(np.full((32, 32), 40_000, dtype=np.uint16)), "PNG"),
    "palette.png": _palette_with_transparency(),
    "rgba.png": encode(noise((32, 32), "RGBA"), "PNG"),
    "grey.png": encode(noise((32, 32), "L"), "PNG"),
    "animated.gif": _gif(),
    "rotated.jpg": _exif_rotated(),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_classify_page_refuses_with_a_sentence(name: str) -> None:
    at = open_page("classify")
    started = time.perf_counter()
    at.file_uploader(key="classify_upload").set_value((name, REFUSED[name], "image/png")).run()
    assert not at.exception, at.exception
    assert at.error and SAYS[name] in at.error[0].value.lower()
    assert "Traceback" not in at.error[0].value
    assert time.perf_counter() - started < 30  # the 50,000 x 50,000 header is refused, not decoded


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_classify_page_answers_odd_but_valid_images(name: str) -> None:
    at = open_page("classify")
    at.file_uploader(key="classify_upload").set_value((name, ACCEPTED[name], "image/png")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.metric[0].label == "Prediction" and at.metric[0].value


def test_teach_page_marks_bad_uploads_and_still_trains(lightbox_home: Path) -> None:
    at = open_page("teach")
    files = [(name, data, "image/png") for name, data in {**REFUSED, **ACCEPTED}.items()]
    next(u for u in at.file_uploader if u.key.startswith("teach_upload_Class 1_")).set_value(files).run()
    assert not at.exception, at.exception
    notice = at.warning[0].value  # refused at once, each by its name, the rest kept
    for name in REFUSED:  # each with its own reason: it called the 50,000-pixel PNG "not a picture"
        assert (
            f"'{plain(name)}' left out: " in notice and SAYS[name] in notice.split(plain(name))[1].split("left out")[1]
        )
    assert f"**Class 1** · {len(ACCEPTED)} images" in [m.value for m in at.markdown]
    good = [(f"g{i}.png", encode(noise((32, 32), seed=i), "PNG"), "image/png") for i in range(4)]
    next(u for u in at.file_uploader if u.key.startswith("teach_upload_Class 2_")).set_value(good).run()
    button(at, "Train").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert f"of your {len(ACCEPTED) + len(good)} images" in at.success[0].value


@pytest.mark.parametrize(
    ("name", "data", "code"), [*((n, d, 2) for n, d in REFUSED.items()), *((n, d, 0) for n, d in ACCEPTED.items())]
)
def test_cli_classify_answers_or_says_why(name: str, data: bytes, code: int, tmp_path: Path, capsys) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert main(["classify", str(path), "--model", "imagenet", "--top-k", "1"]) == code
    out, err = capsys.readouterr()
    if code:
        assert err.startswith("error:") and "Traceback" not in err
    else:
        assert "\t" in out  # label<TAB>probability
