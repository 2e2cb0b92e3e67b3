"""A run trained by the command line on the server's run folder shows up on an open Train page by itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.warm import LOADING_TORCH
from tests.helpers.browser import ROOT, assert_no_error, blank, drawn, screenshot, start_server, stop_server

pytestmark = pytest.mark.browser


def test_a_command_line_run_appears_live_on_an_open_train_page(browser_tab, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    proc, url = start_server(home)
    page = blank(browser_tab, url)
    cli = None
    try:
        page.goto(f"{url}/train")  # open before the run exists; nobody clicks after
        page.get_by_text(LOADING_TORCH).wait_for()  # the server's first page that needs PyTorch says it loads it...
        drawn(page, "Train", "Start training")
        page.get_by_text(LOADING_TORCH).wait_for(state="detached")  # ...until the page is drawn
        cli = subprocess.Popen(  # the small CNN, each epoch paced to a second: minutes, ended by the kill below
            [sys.executable, "-m", "core", "--home", str(home), "train", "--dataset", "digits", "--model",
             "cnn", "--epochs", "300", "--pace", "1", "--name", "from the terminal"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        page.get_by_text("Running elsewhere").wait_for(timeout=120_000)
        page.get_by_text("from the terminal").first.wait_for()
        page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=120_000)  # its first epoch's curves
        assert_no_error(page)
        screenshot(page, "train-running-elsewhere")
    finally:
        if cli is not None:
            cli.kill()
            cli.wait(30)
        stop_server(proc)
        blank(page)
