"""Chromium's fake webcam shows a real photo: a snapshot on Classify goes through the whole app (Teach records live)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers.browser import assert_no_error, goto, launch, open_tab, screenshot, settle

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
    b = launch(playwright, f"--use-file-for-fake-video-capture={video}")
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


def test_a_webcam_snapshot_is_classified(camera_page) -> None:
    page = camera_page
    goto(page, "classify", "Classify", "Upload an image")
    page.get_by_role("tab", name="Take a snapshot").click()
    _snap(page, "Webcam")
    page.get_by_text("What the model sees").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text().strip() in {"espresso", "cup"}
    assert_no_error(page)
    screenshot(page, "classify-webcam")
