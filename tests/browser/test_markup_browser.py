"""In a real Chromium, class and run names made of Markdown or HTML fetch nothing and draw no link or image."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from core import DataConfig, RunConfig, RunStore, train_run
from core.data.registry import save_user_dataset
from tests.helpers import quick_config
from tests.helpers.browser import open_tab, start_server, stop_server, visit
from tests.helpers.markup import DATASET, EVIL_RUN, evil_dataset

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def evil_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dashboard over a home holding a dataset and a run with hostile names."""
    home = tmp_path_factory.mktemp("evil-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("LIGHTBOX_HOME", str(home))
    save_user_dataset(evil_dataset())
    cfg = quick_config("cnn", epochs=2)
    train_run(RunConfig(DataConfig(DATASET), cfg.model, cfg.train, name=EVIL_RUN), RunStore(home))
    mp.undo()
    proc, url = start_server(home)
    yield url
    stop_server(proc)


def _settle(page) -> None:
    page.wait_for_timeout(500)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)


def _no_markup(page) -> None:
    """Assert no link to or image from port 9 is on the page, and the names show as text."""
    main = page.locator('[data-testid="stMain"]')
    found = main.locator('a[href*="127.0.0.1:9/"], img[src*="127.0.0.1:9/"], img[src="x"]')
    assert found.count() == 0, [found.nth(i).evaluate("e => e.parentElement.outerHTML") for i in range(found.count())]
    assert main.locator("strong").filter(has_text=re.compile(r"^bold$")).count() == 0  # "**bold**" not bold


def test_hostile_names_fetch_nothing(browser, evil_server: str) -> None:
    page = open_tab(browser, evil_server)
    fetched: list[str] = []
    server = urlparse(evil_server).netloc

    def note(url: str) -> None:  # a hostile name's link or image, and any host but ours (a Google-hosted tab icon was)
        parts = urlparse(url)
        if (parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != server) or url[-2:] == "/x":
            fetched.append(url)

    page.on("request", lambda r: note(r.url))
    page.goto(f"{evil_server}/compare")
    page.get_by_text("Highest validation accuracy").wait_for()
    _settle(page)
    assert page.get_by_text("[run link](http").count() >= 1  # shown literally (with an invisible word joiner)
    _no_markup(page)
    for view in ("Which model?", "Mistakes"):
        page.locator("[data-testid=stButtonGroup] button", has_text=view).click()
        _settle(page)
        _no_markup(page)
    page.get_by_text("[click me](http").first.wait_for()
    visit(page, "data", "Data", "Pixel statistics")
    page.get_by_role("combobox").first.click()  # dataset_ui's select box: pick the hostile dataset
    page.get_by_role("option").filter(has_text=DATASET).click()
    page.get_by_text("![x](http").first.wait_for()
    _settle(page)
    _no_markup(page)
    page.wait_for_timeout(1000)
    assert fetched == []
    page.context.close()
