"""Every page opens without an error, photographed at 1280x720 into docs/screenshots/ (rerun after changing a page:
the lead retakes them) and whole into artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.browser import ROOT, assert_no_error, blank, goto, screenshot, visit

pytestmark = pytest.mark.browser
SHOTS = ROOT / "docs" / "screenshots"
PAGES = (  # docs name (None: not in the docs), path, heading (None: presenter slides have none), text once drawn
    ("home", "", "Lightbox", "New here"),
    ("data", "data", "Data", "Pixel statistics"),
    ("train", "train", "Train", "Start training"),
    ("compare", "compare", "Compare", None),
    ("classify", "classify", "Classify", None),
    ("attack", "attack", "Fool the model", None),
    ("teach", "teach", "Teach", None),
    (None, "tour", "Tour", "Step 1 of 7"),
    ("tour-presenter", "tour?step=1&presenter=1", None, "1/7 · "),  # a prepared link, opened by its address
)


def test_every_page_renders_without_error_and_is_photographed_at_1280x720(browser_tab, server: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = blank(browser_tab, server)
    page.set_viewport_size({"width": 1280, "height": 720})
    page.set_default_timeout(90_000)
    for name, path, heading, ready in PAGES:
        if name == "home" or "?" in path:  # by address: a new session
            goto(page, path, heading, ready)
        else:  # from the sidebar, as a visitor goes: each page's first view in this session
            visit(page, path, heading, ready)
        page.wait_for_function("!document.querySelector('.stMain [data-testid=\"stSkeleton\"]')")  # all drawn
        page.wait_for_timeout(500)
        if path == "classify":  # the live camera's first answer, beside the video
            page.wait_for_selector(".lightbox-camera [data-part=bars] .label", timeout=60_000)
        assert_no_error(page)
        screenshot(page, name or path)  # the whole page, for a person to look at
        if name:
            page.screenshot(path=str(SHOTS / f"{name}.png"))
            assert Path(SHOTS / f"{name}.png").stat().st_size > 10_000
    blank(page)
