"""Screenshots of every page at 1280x720 into docs/screenshots/ (rerun after changing a page: the lead retakes them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.browser import ROOT, blank, settle

pytestmark = pytest.mark.browser
SHOTS = ROOT / "docs" / "screenshots"
PAGES = (
    ("home", ""),
    ("tour-presenter", "tour?step=1&presenter=1"),
    ("data", "data"),
    ("train", "train"),
    ("compare", "compare"),
    ("classify", "classify"),
    ("attack", "attack"),
    ("teach", "teach"),
)


def test_screenshot_every_page_at_1280x720(browser_tab, server: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = blank(browser_tab, server)
    page.set_viewport_size({"width": 1280, "height": 720})
    page.set_default_timeout(90_000)
    for name, path in PAGES:
        page.goto(f"{server}/{path}")
        page.wait_for_selector('[data-testid="stApp"]')
        page.wait_for_selector(".stMain h1, .stMain [data-testid='stMarkdownContainer']")  # the page, not the sidebar
        settle(page)
        page.wait_for_function("!document.querySelector('.stMain [data-testid=\"stSkeleton\"]')")  # all drawn
        page.wait_for_timeout(500)
        if name == "classify":  # the live camera's first answer, beside the video
            page.wait_for_selector(".lightbox-camera [data-part=bars] .label", timeout=60_000)
        page.screenshot(path=str(SHOTS / f"{name}.png"))
        assert Path(SHOTS / f"{name}.png").stat().st_size > 10_000
    blank(page)
