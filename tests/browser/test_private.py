"""A private-mode server in real Chromium: visitor B (another browser context) never sees visitor A's run."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from core import RunStore, train_run
from core.sharing import SERVER
from core.workspaces import showcase_configs
from tests.helpers.browser import (
    assert_no_error,
    goto,
    open_tab,
    server_loaded,
    settle,
    start_server,
    stop_server,
    visit,
)

pytestmark = pytest.mark.browser
SECRET = "a-private-run"


def _wait_for_run(store: RunStore, proc) -> str:
    deadline = time.monotonic() + 400  # a busy CI machine trains slowly
    while True:
        mine = [r for r in store.list_runs() if r.name == SECRET and r.status in ("finished", "stopped")]
        if mine:
            return mine[0].owner
        assert time.monotonic() < deadline and proc.poll() is None, [(r.name, r.status) for r in store.list_runs()]
        time.sleep(0.3)


def test_visitor_b_cannot_see_visitor_as_run(browser, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    for config in showcase_configs():  # the server's runs, one epoch each: the server finds them and trains none
        train_run(replace(config, train=replace(config.train, epochs=1)), RunStore(home))
    proc, url = start_server(home, {"LIGHTBOX_SHARING": "private"})
    a, b = open_tab(browser, url), open_tab(browser, url)  # two contexts: two visitors, own cookies and tabs
    try:
        goto(a, "train", "Train", "Start training")
        a.locator('[data-testid="stSelectbox"]').filter(has_text="Model").click()
        a.get_by_role("option", name="Fully connected net").click()  # the quickest to train
        settle(a)
        a.get_by_label("Run name (optional)").fill(SECRET)
        a.get_by_label("Run name (optional)").press("Enter")
        settle(a)
        a.get_by_role("button", name="Start training").click()
        owner = _wait_for_run(RunStore(home), proc)
        assert owner != SERVER and owner in a.url  # the workspace token rides in the URL

        a.reload()  # the same tab again: the token in its URL finds A's workspace
        a.wait_for_selector('[data-testid="stApp"]')
        a.get_by_text(SECRET).first.wait_for(state="attached")  # a cell of the runs table
        assert_no_error(a)

        goto(b, "train", "Train", "Start training")
        b.get_by_text("showcase: digits").first.wait_for(state="attached")  # the server's runs are there
        assert b.get_by_text(SECRET).count() == 0 and SECRET not in b.content()
        visit(b, "compare", "Compare")  # from the sidebar, as a visitor moves on
        b.get_by_text("showcase: digits").first.wait_for(state="attached")
        assert SECRET not in b.content()
        assert_no_error(b)
        b.goto(a.url)  # A's address, workspace token and all, copied to B (to show a chart, say)
        b.get_by_text("showcase: digits").first.wait_for(state="attached")
        b.get_by_text("This link came from another browser").wait_for()
        assert SECRET not in b.content()
        visit(b, "compare", "Compare")  # the next run writes B's own workspace into the address
        b.wait_for_function(f"location.search.includes('ws=') && !location.search.includes({owner!r})")
        assert SECRET not in b.content()
        a.reload()  # A's own browser still finds it
        a.get_by_text(SECRET).first.wait_for(state="attached")
        assert not server_loaded(url, "pandas")  # Train's and Compare's tables drew without pandas
    finally:
        a.context.close()
        b.context.close()
        stop_server(proc)
