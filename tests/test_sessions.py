"""Two browser sessions on one server: each sees and stops only its own jobs; the run store is shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import RunStore
from tests.helpers import quick_config, wait_until
from tests.helpers.pages import button, open_page


def _start_long_job(at) -> None:
    at.slider(key="train_epochs").set_value(50)
    at.select_slider(key="train_batch").set_value(8)
    button(at, "Start training").click().run()
    assert not at.exception


def _progress_text(at) -> str:
    return " ".join(p.proto.text for p in at.get("progress"))


def _wait_for_status(store: RunStore, status: str, count: int = 1) -> None:
    wait_until(
        lambda: sum(r.status == status for r in store.list_runs()) >= count, 60, message=f"no run became {status}"
    )


def test_sessions_see_only_their_own_jobs_and_queue_behind_others(
    lightbox_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIGHTBOX_MAX_JOBS", "1")
    ann, bob = open_page("train"), open_page("train")  # two AppTests: two sessions, one server's caches
    _start_long_job(ann)
    assert "Current run" in [s.value for s in ann.subheader]

    bob.run()
    assert "Current run" not in [s.value for s in bob.subheader]
    assert not [b for b in bob.button if b.label == "Stop"]  # nothing of Ann's to stop
    assert any("Busy: 1 other training job is running" in c.value for c in bob.caption)
    assert any("Runs are shared" in c.value for c in bob.caption)

    _start_long_job(bob)  # the one slot is Ann's: Bob's job waits
    assert "Waiting: number 1 in line" in _progress_text(bob)
    button(bob, "Stop").click().run()
    assert any("Cancelled before it started" in i.value for i in bob.info)

    ann.run()
    assert "Waiting" not in _progress_text(ann)  # Ann's job is not affected by Bob's
    button(ann, "Stop").click().run()
    store = RunStore(lightbox_home)
    _wait_for_status(store, "stopped")
    assert [r.status for r in store.list_runs()] == ["stopped"]  # Bob's cancelled job left no run
    bob.run()
    assert not any("Busy" in c.value for c in bob.caption)
    assert len(bob.dataframe[0].value) == 1  # but Bob sees Ann's run: the store is shared


def test_the_servers_own_jobs_are_named_as_such_in_the_busy_line(
    lightbox_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A private server's showcase runs: "1 other training job" read as another visitor where there was none."""
    from dashboard.resources import get_jobs

    monkeypatch.setenv("LIGHTBOX_MAX_JOBS", "1")
    at = open_page("train")
    ann = open_page("train")
    _start_long_job(ann)
    jobs = get_jobs()
    server_job = jobs.start(quick_config(epochs=50, batch_size=8))  # no owner: the server's, as the showcase runs
    ann_job = next(s.job_id for s in jobs.snapshots() if s.owner is not None and s.active)
    at.run()
    said = next(c.value for c in at.caption if c.value.startswith("Busy"))
    assert "the server's own" not in said  # Ann's job is a visitor's
    jobs.stop(ann_job)
    wait_until(lambda: not jobs.snapshot(ann_job).active, 60)
    at.run()
    said = next(c.value for c in at.caption if c.value.startswith("Busy"))
    assert "(the server's own showcase runs, trained once at its start)" in said
    jobs.stop(server_job)
    wait_until(lambda: not jobs.snapshot(server_job).active, 60)
