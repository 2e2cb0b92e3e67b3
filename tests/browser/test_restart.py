"""The server killed mid-training: after a restart the run is interrupted, its epochs and checkpoint intact."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from core import Predictor, RunStore, load_dataset
from tests.helpers import wait_until
from tests.helpers.browser import assert_no_error, blank, goto, settle, start_server, stop_server

pytestmark = pytest.mark.browser


def _wait_for_epochs(store: RunStore, count: int, proc) -> str:
    def logged_run() -> str | None:
        assert proc.poll() is None, "the server ended"
        runs = store.list_runs()
        return runs[0].id if runs and len(store.history(runs[0].id)) >= count else None

    return wait_until(logged_run, 180, 0.2, "training did not get going")


def test_a_killed_server_leaves_an_interrupted_run_that_still_loads(browser_tab, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    proc, url = start_server(home)
    page = blank(browser_tab, url)
    try:
        goto(page, "train", "Train", "Start training")
        page.get_by_role("slider", name="Epochs").press("End")  # 50 epochs of the small CNN in batches of 8:
        settle(page)  # seconds of training, caught mid-run
        page.get_by_role("slider", name="Batch size").press("Home")
        settle(page)
        page.get_by_role("button", name="Start training").click()
        run_id = _wait_for_epochs(RunStore(home), 2, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        blank(page)

    store = RunStore(home)
    assert store.get_run(run_id).status == "running"  # nobody could say otherwise: the server is gone
    proc, url = start_server(home)  # a restarted server marks it when the Train page opens its job manager
    page = blank(browser_tab, url)
    try:
        goto(page, "train", "Train", "Start training")
        page.get_by_text("interrupted").first.wait_for(state="attached")  # a cell of the runs table (a canvas grid)
        assert_no_error(page)
    finally:
        stop_server(proc)
        blank(page)

    run = store.get_run(run_id)
    assert run.status == "interrupted" and "ended early" in (run.error or "")
    epochs = [row["epoch"] for row in store.history(run_id)]
    assert epochs[:2] == [1, 2] and epochs == sorted(epochs)
    _, val = load_dataset("digits").split(0.2, seed=0)
    prediction = Predictor.from_run(store, run_id).predict(val.to_pil(0), top_k=1)[0]  # the last checkpoint works
    assert prediction.label in val.classes
