"""A person's journey through the dashboard in a real Chromium: a training run, a prediction, the Tour.

Every page's first view is opened and photographed by test_screenshots.py."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from core import load_dataset
from tests.helpers.browser import assert_no_error, goto, on_path, screenshot, settle, visit

pytestmark = pytest.mark.browser


def test_train_a_model_then_classify_a_photo(page, tmp_path: Path) -> None:
    goto(page, "train", "Train")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Finished: ").wait_for(timeout=120_000)
    page.get_by_text("Runs", exact=True).wait_for()
    assert_no_error(page)
    screenshot(page, "train-finished")

    _, val = load_dataset("digits").split(0.2, seed=0)
    scan = val.to_pil(3).resize((240, 240), Image.Resampling.BICUBIC)
    photo = Image.new("RGB", (400, 300), "white")
    photo.paste(ImageOps.invert(scan).convert("RGB"), (80, 30))
    path = tmp_path / "digit.png"
    photo.save(path)

    visit(page, "classify", "Classify")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Model").click()
    page.get_by_role("option", name="cnn on digits").first.click()
    settle(page)
    page.get_by_role("tab", name="Upload an image").click()  # as a person would: the live camera stops off screen
    page.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_text("What the model sees").wait_for(
        timeout=120_000
    )  # the run's model loads first: slow on a busy machine
    metric = page.locator('[data-testid="stMetricValue"]').first.inner_text()
    assert metric.strip() == val.classes[int(val.labels[3])]
    assert_no_error(page)
    screenshot(page, "classify")

    visit(page, "compare", "Compare")
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    screenshot(page, "compare")

    page.get_by_role("radio", name="Mistakes").click()
    page.get_by_text("Click a square").wait_for()
    settle(page)
    matrix = page.locator('[data-testid="stPlotlyChart"]').first
    matrix.scroll_into_view_if_needed()
    cells = matrix.locator("rect.nsewdrag").first.bounding_box()
    page.mouse.click(cells["x"] + 3.5 * cells["width"] / 10, cells["y"] + 3.5 * cells["height"] / 10)
    page.get_by_text("of 3 called 3").wait_for()  # the clicked cell (true 3, predicted 3) and its images
    settle(page)
    assert_no_error(page)
    screenshot(page, "compare-mistakes")


def test_a_text_file_named_jpg_gets_a_sentence_not_a_traceback(page, tmp_path: Path) -> None:
    goto(page, "train", "Train")
    if page.get_by_text("No runs yet").count():
        page.get_by_role("button", name="Start training").click()
        page.get_by_text("Finished: ").wait_for(timeout=120_000)
    fake = tmp_path / "holiday.jpg"
    fake.write_bytes(io.BytesIO(b"not a photo at all").getvalue())
    visit(page, "classify", "Classify", "Upload an image")
    page.get_by_role("tab", name="Upload an image").click()  # as a person would: the live camera stops off screen
    page.locator('input[type="file"]').set_input_files(str(fake))
    page.locator('[data-testid="stAlertContentError"]').wait_for()
    assert "image" in page.locator('[data-testid="stAlertContentError"]').inner_text().lower()
    assert_no_error(page)


def test_curves_grow_live_and_stop_ends_the_run(page) -> None:
    goto(page, "train", "Train", "Start training")
    page.get_by_role("slider", name="Epochs").press("End")  # 50 epochs of the small CNN in batches of 8: about
    settle(page)  # half a second an epoch on a quiet machine, so the run is still going when it is stopped
    page.get_by_role("slider", name="Batch size").press("Home")
    settle(page)
    page.get_by_label("Run name (optional)").fill("live curves")  # not one of the other tests' "cnn on digits"
    page.get_by_label("Run name (optional)").press("Enter")
    settle(page)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(re.compile(r"Epoch \d+ of 50")).first.wait_for(timeout=120_000)  # the page redraws each second
    markers = '[data-testid="stPlotlyChart"] .scatterlayer .points path'
    page.locator(markers).first.wait_for()
    before = page.locator(markers).count()
    page.wait_for_function(f"document.querySelectorAll('{markers}').length > {before}", timeout=120_000)
    screenshot(page, "train-live")
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Stopped: ").wait_for(timeout=60_000)
    assert_no_error(page)


def test_the_built_in_model_names_a_photo_with_no_training(page, tmp_path: Path) -> None:
    data = pytest.importorskip("skimage.data")
    path = tmp_path / "coffee.jpg"
    Image.fromarray(data.coffee()).save(path)
    goto(page, "classify", "Classify", "Upload an image")
    page.get_by_role("tab", name="Upload an image").click()  # Classify opens on the live camera when there is one
    page.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_text("What the model sees").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text().strip() in {"espresso", "cup"}
    assert_no_error(page)
    screenshot(page, "classify-imagenet")


_TICK = ".stPlotlyChart .xtick text, .stPlotlyChart .ytick text"


def _tick_sizes(page, *, some: bool = False) -> list[float]:
    """Return the font size (px) of every chart tick label on screen, as the browser draws it.

    With `some`, wait until there is at least one: a live chart redrawn between two epochs has none for a moment.
    """
    sizes = f"Array.from(document.querySelectorAll('{_TICK}')).map(e => parseFloat(getComputedStyle(e).fontSize))"
    if some:
        return page.wait_for_function(f"() => {{ const s = {sizes}; return s.length ? s : null; }}").json_value()
    return page.evaluate(sizes)


def _slide_bottoms(page) -> list[float]:
    """Return how far down (px) each picture, chart or camera of the slide ends, in page coordinates."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll(
            '.stMain [data-testid="stImage"] img, .stMain .stPlotlyChart, .stMain .lightbox-camera video'))
            .filter(e => e.getBoundingClientRect().height > 0)
            .map(e => e.getBoundingClientRect().bottom + window.scrollY)"""
    )


def _wait_for_slide(page, number: int) -> None:
    """Wait until slide `number` of 7 shows; else fail saying which slide does (and keep a screenshot of it)."""
    try:
        page.get_by_text(f"{number}/7 · ").first.wait_for(timeout=120_000)
    except PlaywrightTimeout:
        screenshot(page, f"tour-not-at-step-{number}")
        shown = page.get_by_text(re.compile(r"^[1-7]/7 · ")).all_text_contents()
        raise AssertionError(f"slide {number} never showed; on screen: {shown}, address: {page.url}") from None


_CLICKER = {3: "PageDown", 5: "PageDown", 6: "ArrowRight"}  # the Tour steps reached by a key, not the button


def test_the_tour_in_presenter_mode_from_a_prepared_link(page) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})  # a projector
    page.goto(f"{page.base_url}/tour?presenter=1")
    page.get_by_text("1/7 · ").first.wait_for(timeout=60_000)  # a slide: one slim row, no page title
    page.get_by_text("Tensor shape").first.wait_for()
    settle(page)
    assert page.get_by_role("heading", name="Tour").count() == 0
    digits = load_dataset("digits")
    label = digits.classes[int(digits.labels[0])]  # the picture step 1 shows first
    page.get_by_text(f"A '{label}'", exact=True).first.wait_for()  # its caption names its own label
    text = "parseFloat(getComputedStyle(document.querySelector('.stMain p')).fontSize)"
    page.wait_for_function(f"{text} >= 20", timeout=30_000)  # presenter mode's larger text (1.3rem)
    screenshot(page, "tour-step-1")
    assert page.locator(".st-key-slide_keys").count() == 1 and page.locator(".st-key-slide_keys").is_hidden()
    page.get_by_role("slider").first.focus()
    page.keyboard.press("ArrowRight")  # meant for the zoom slider, not the slides
    settle(page)
    assert page.get_by_text("1/7 · ").count() == 1
    bottoms, ticks = {1: _slide_bottoms(page)}, _tick_sizes(page)
    for number in range(2, 8):
        if number in _CLICKER:  # a clicker's PageDown, or the arrow key, moves on like the next button
            page.evaluate("() => document.activeElement && document.activeElement.blur()")
            page.keyboard.press(_CLICKER[number])
        else:
            page.locator(".st-key-tour_next button").first.click()
        _wait_for_slide(page, number)
        settle(page)
        assert_no_error(page)
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        if number == 2:  # the network learns while the audience watches: curves with presenter-sized ticks
            page.get_by_role("button", name="Train the network").click()
            page.locator(_TICK).first.wait_for(state="attached", timeout=120_000)
            settle(page)
        bottoms[number] = _slide_bottoms(page)
        ticks += _tick_sizes(page, some=number == 2)
        screenshot(page, f"tour-step-{number}")
    assert "step=7" in page.url and "presenter=1" in page.url
    # two presses before the page redraws move two slides; PageDown on the last slide stays there
    for keys, number in ((("PageUp",), 6), (("ArrowLeft", "PageUp"), 4), (("PageDown", "ArrowRight"), 6)):
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        for key in keys:
            page.keyboard.press(key)
        _wait_for_slide(page, number)
        settle(page)
        assert f"step={number}" in page.url
    page.keyboard.press("PageDown")
    _wait_for_slide(page, 7)
    settle(page)
    page.keyboard.press("PageDown")  # the last slide: nothing further
    settle(page)
    assert "step=7" in page.url and page.get_by_text("7/7 · ").count() == 1
    assert ticks and min(ticks) >= 16, ticks  # every chart's tick labels are presenter-sized (12 px otherwise)
    print("first picture or chart of each slide ends at (px):", {n: min(b, default=None) for n, b in bottoms.items()})
    assert all(min(b) <= 720 for b in bottoms.values() if b), bottoms  # each slide's picture starts on screen

    page.reload()
    page.wait_for_selector('[data-testid="stApp"]')
    page.get_by_text("7/7 · ").first.wait_for()
    settle(page)
    assert page.locator('[data-testid="stSidebar"] input[type="checkbox"]').first.is_checked()

    page.locator('[data-testid="stSidebarNav"]').get_by_text("Train", exact=True).click()
    page.get_by_role("heading", name="Train").first.wait_for()
    settle(page)
    assert "presenter=1" in page.url  # a page switch keeps the prepared view
    assert page.get_by_text("Advanced settings").count() == 0
    assert_no_error(page)
    screenshot(page, "train-presenter")


def test_back_goes_to_the_page_before_though_the_app_writes_its_address(page) -> None:
    """The workspace id and the Tour's slide live in the address; the browser's Back still leaves the page.

    Streamlit made a history entry of each such write: Back from the Tour landed on the Tour again, and Back from
    the first page on that page without its ?ws=.
    """
    goto(page, "", "Lightbox")
    visit(page, "tour", "Tour")
    page.locator(".st-key-tour_next button").first.click()
    page.get_by_text("Step 2 of 7").first.wait_for()
    settle(page)
    assert "step=2" in page.url and "ws=" in page.url
    visit(page, "data", "Data")
    page.go_back()  # to the Tour, on the slide it was left on
    on_path(page, "tour")
    page.get_by_text("Step 2 of 7").first.wait_for()
    settle(page)
    page.go_back()  # past the Tour's slides and the workspace id: to Home
    on_path(page, "")
    page.get_by_role("heading", name="Lightbox").first.wait_for()
    settle(page)
    assert page.get_by_text("Step 2 of 7").count() == 0
    assert_no_error(page)
    page.go_back()  # and from the first page, out of the app (the first run's own address writes wait)
    page.wait_for_url("about:blank")


def test_a_slide_key_lost_on_the_way_is_sent_again(browser, server: str) -> None:
    """Streamlit drops a press the browser sent with a camera frame whose fragment had just gone (slide 4's
    camera, a second press on a busy server): here the first message asking for slide 6 is dropped outright."""
    dropped: list[bytes] = []

    def drop_first_ask_for_6(ws) -> None:
        to_server = ws.connect_to_server()

        def send(message: str | bytes) -> None:
            data = (message if isinstance(message, bytes) else message.encode()).replace(b" ", b"")
            if not dropped and b'"event":"go"' in data and b'"value":6' in data:
                dropped.append(data)
                return
            to_server.send(message)

        ws.on_message(send)

    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.route_web_socket(re.compile(r".*/_stcore/stream"), drop_first_ask_for_6)
        page.goto(f"{server}/tour?presenter=1&step=4")
        page.get_by_text("4/7 · ").first.wait_for(timeout=60_000)
        settle(page)
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.keyboard.press("PageDown")
        page.get_by_text("5/7 · ").first.wait_for()
        page.keyboard.press("ArrowRight")
        page.get_by_text("6/7 · ").first.wait_for(timeout=30_000)  # asked again 1.5 s later
        assert len(dropped) == 1
    finally:
        context.close()
