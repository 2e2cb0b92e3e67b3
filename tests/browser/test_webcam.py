"""Chromium's fake webcam shows a real photo: snapshots on Classify and Teach go through the whole app."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from tests.helpers.browser import CHROMIUM, CHROMIUM_FLAGS, assert_no_error, goto, open_tab, screenshot, settle

pytestmark = pytest.mark.browser
data = pytest.importorskip("skimage.data")


def write_y4m(image: Image.Image, path: Path, frames: int = 10) -> Path:
    """Write a 640x480 YUV4MPEG2 (4:2:0) video of one still image, Chromium's fake-camera format."""
    ycbcr = image.convert("RGB").resize((640, 480)).convert("YCbCr")
    y, cb, cr = (np.asarray(c, dtype=np.uint8) for c in ycbcr.split())
    frame = y.tobytes() + cb[::2, ::2].tobytes() + cr[::2, ::2].tobytes()
    with open(path, "wb") as f:
        f.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            f.write(b"FRAME\n" + frame)
    return path


@pytest.fixture(scope="module")
def camera_page(playwright, server: str, tmp_path_factory) -> Iterator[object]:
    """A page in a Chromium whose webcam films the coffee photo."""
    video = write_y4m(Image.fromarray(data.coffee()), tmp_path_factory.mktemp("cam") / "coffee.y4m")
    b = playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={video}"]
    )
    page = open_tab(b, server)
    yield page
    b.close()


def _snap(page, label: str) -> None:
    """Take a photo with the st.camera_input labelled `label`."""
    widget = page.locator('[data-testid="stCameraInput"]').filter(has_text=label)
    video = widget.locator("video")
    video.wait_for()
    # a frame taken before the stream plays is black: wait until the video has advanced
    video.evaluate(
        "v => new Promise(r => { const go = () => v.readyState >= 3 && v.currentTime > 0.3 ? r() : "
        "setTimeout(go, 50); go(); })"
    )
    widget.get_by_role("button", name="Take Photo").click()
    settle(page)


def _variants(photo: Image.Image, n: int, tmp: Path, stem: str) -> list[str]:
    paths = []
    for i in range(n):
        crop = photo.crop((i * 8, i * 6, photo.width - i * 5, photo.height - i * 4))
        img = ImageEnhance.Brightness(crop).enhance(0.8 + 0.08 * i)
        buf = io.BytesIO()
        img.save(buf, format="JPEG")
        path = tmp / f"{stem}{i}.jpg"
        path.write_bytes(buf.getvalue())
        paths.append(str(path))
    return paths


def test_a_webcam_snapshot_is_classified(camera_page) -> None:
    page = camera_page
    goto(page, "classify", "Classify", "Upload an image")
    page.get_by_role("tab", name="Take a snapshot").click()
    _snap(page, "Webcam")
    page.get_by_text("What the model sees").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text().strip() in {"espresso", "cup"}
    assert_no_error(page)
    screenshot(page, "classify-webcam")


def test_teach_two_classes_then_recognise_the_webcam(camera_page, tmp_path: Path) -> None:
    page = camera_page
    goto(page, "teach", "Teach", "Collect examples")
    uploads = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploads.nth(0).set_input_files(_variants(Image.fromarray(data.coffee()), 5, tmp_path, "cup"))
    settle(page)
    page.get_by_text("Class 1 · 5 images").wait_for(timeout=120_000)
    settle(page)  # the uploaders are drawn anew, with fresh keys, after each upload
    uploads = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploads.nth(1).set_input_files(_variants(Image.fromarray(data.chelsea()), 5, tmp_path, "cat"))
    settle(page)
    page.get_by_text("Class 2 · 5 images").wait_for(timeout=120_000)
    _snap(page, "Webcam")  # the fake camera films the coffee: a sixth example of Class 1
    page.get_by_text("Class 1 · 6 images").wait_for()
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Trained on 11 images").wait_for(timeout=120_000)
    _snap(page, "Show it something")
    page.get_by_text("It thinks this is").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text().strip() == "Class 1"
    assert_no_error(page)
    screenshot(page, "teach")
