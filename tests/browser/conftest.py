"""A real `streamlit run` server and a headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.browser import CHROMIUM, blank, launch, open_tab, start_server, stop_server
from tests.helpers.runs import TOUR_CNN, RunLibrary


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, run_library: RunLibrary) -> Iterator[str]:
    """Start the dashboard on a free localhost port with its own LIGHTBOX_HOME; yield its URL.

    The home holds the Tour's digits CNN (the session's run library trains it once for all workers), as after
    a first tour: step 7 shows it rather than training it again; tests/test_tour.py checks that training.
    Its live cameras send 4 frames a second, not 8: the tests check that answers follow the scene, and each
    frame costs Chromium and the server about 0.13 CPU-s (benchmarks/live_camera.py --caps 8 4 measures both).
    """
    home = tmp_path_factory.mktemp("browser-home")
    run_library.copy_into(TOUR_CNN, home)
    try:
        proc, url = start_server(home, env={"LIGHTBOX_CAMERA_FPS": "4"})
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def playwright() -> Iterator[object]:
    """The Playwright driver; skipped where it or Debian's Chromium is missing (a failure under CI)."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install -r requirements-dev.txt)"
    if not Path(CHROMIUM).exists():
        missing = "Debian's chromium is not installed (apt-get install chromium)"
    if missing:
        if os.environ.get("CI"):  # CI installs both: a missing browser there is a failure, not a skip
            pytest.fail(missing)
        pytest.skip(missing)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright) -> Iterator[object]:
    b = launch(playwright)
    yield b
    b.close()


@pytest.fixture(scope="session")
def browser_tab(browser) -> Iterator[object]:
    """One tab for the whole session, on any server (see `blank`)."""
    pg = open_tab(browser, "")
    yield pg
    pg.context.close()


@pytest.fixture
def page(browser_tab, server: str):
    """The shared tab, emptied and pointed at the server: each page a test opens starts a new Streamlit session."""
    return blank(browser_tab, server)
