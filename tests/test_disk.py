"""A home Lightbox cannot write and a disk that fills up: plain sentences, failed runs, intact checkpoints."""

from __future__ import annotations

import errno
import io
import os
import sqlite3
from pathlib import Path

import pytest

from core import Callback, JobManager, Predictor, RunStore, StoreError, TrainState, train_run
from tests.helpers import quick_config
from tests.helpers.pages import open_page


class _FullDisk(io.FileIO):
    """A file whose every write fails the way a full disk fails."""

    def write(self, data: bytes) -> int:  # type: ignore[override]
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """Make writes through atomic_write_bytes fail with ENOSPC once disk['full'] is set."""
    state = {"full": False}
    real_fdopen = os.fdopen

    def fdopen(fd: int, mode: str = "r", *args, **kwargs):
        if state["full"] and "w" in mode:
            return io.BufferedWriter(_FullDisk(fd, "wb"))
        return real_fdopen(fd, mode, *args, **kwargs)

    monkeypatch.setattr("core.runs.os.fdopen", fdopen)
    return state


def test_a_home_under_a_file_says_to_set_lightbox_home(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=r"Lightbox cannot write to .*Set LIGHTBOX_HOME to a writable folder"):
        RunStore(blocker / "home")


@pytest.mark.slow
def test_a_full_disk_fails_the_run_and_keeps_the_last_checkpoint(store: RunStore, disk: dict[str, bool]) -> None:
    kept: dict[str, bytes] = {}

    class FillDiskAfterFirstEpoch(Callback):
        def on_epoch_end(self, state: TrainState) -> None:  # runs after the epoch's checkpoint is saved
            run_id = store.list_runs()[0].id
            kept["weights"] = store.weights_path(run_id).read_bytes()
            disk["full"] = True

    with pytest.raises(StoreError, match="the disk is full"):
        train_run(quick_config(epochs=3), store, [FillDiskAfterFirstEpoch()])
    (run,) = store.list_runs()
    assert run.status == "failed" and "the disk is full" in (run.error or "")
    assert store.weights_path(run.id).read_bytes() == kept["weights"]  # untouched by the failed write
    assert [p.name for p in store.run_dir(run.id).iterdir()] == ["weights.pt"]  # no half-written temp file
    disk["full"] = False
    assert Predictor.from_run(store, run.id).classes  # the epoch-1 checkpoint still loads


def test_a_job_on_a_full_disk_reports_it(store: RunStore, disk: dict[str, bool]) -> None:
    disk["full"] = True
    jobs = JobManager(store)
    snap = jobs.wait(jobs.start(quick_config(epochs=2)), 60)
    assert snap.status == "failed" and "the disk is full" in (snap.error or "")
    assert store.get_run(snap.run_id).status == "failed"


def test_a_full_database_is_a_store_error(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    run = store.create_run(quick_config())
    real_connect = sqlite3.connect

    def connect_without_room(*args, **kwargs) -> sqlite3.Connection:
        con = real_connect(*args, **kwargs)
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL once the file must grow
        return con

    monkeypatch.setattr("core.runs.sqlite3.connect", connect_without_room)
    with pytest.raises(StoreError, match="the disk is full"):
        store.log_epoch(run.id, {"epoch": 1, "note": "x" * 200_000})


def test_train_page_with_a_home_it_cannot_create_shows_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("LIGHTBOX_HOME", str(blocker / "home"))
    at = open_page("train")  # asserts no exception
    assert "Lightbox cannot write to" in at.error[0].value and "LIGHTBOX_HOME" in at.error[0].value
