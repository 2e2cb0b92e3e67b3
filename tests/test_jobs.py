from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

from core import JobManager, RunStore
from tests.helpers import quick_config


def _wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_job_trains_in_the_background_and_reports_progress(store: RunStore) -> None:
    jobs = JobManager(store)
    job_id = jobs.start(quick_config(epochs=3))
    seen_progress = []
    while jobs.snapshot(job_id).active:
        seen_progress.append(jobs.snapshot(job_id).progress)
        time.sleep(0.005)
    snap = jobs.wait(job_id, 60)
    assert snap.status == "finished" and snap.progress == 1.0 and snap.error is None
    assert [r["epoch"] for r in snap.history] == [1, 2, 3]
    assert seen_progress == sorted(seen_progress)  # never goes backwards
    assert store.get_run(snap.run_id).status == "finished"
    assert jobs.snapshots()[0].job_id == job_id


def test_stop_ends_a_job_within_one_batch_and_keeps_the_run(store: RunStore) -> None:
    jobs = JobManager(store)
    job_id = jobs.start(quick_config(epochs=200, batch_size=16))
    _wait_until(lambda: jobs.snapshot(job_id).batch >= 2 or jobs.snapshot(job_id).epoch >= 2)
    jobs.stop(job_id)
    snap = jobs.wait(job_id, 30)
    assert snap.status == "stopped" and snap.epoch < 200
    run = store.get_run(snap.run_id)
    assert run.status == "stopped" and store.weights_path(run.id).is_file()


def test_a_failing_job_reports_why(store: RunStore) -> None:
    jobs = JobManager(store)
    snap = jobs.wait(jobs.start(quick_config(dataset="no-such-data")), 30)
    assert snap.status == "failed" and "Unknown dataset" in (snap.error or "")
    assert store.list_runs() == []


def test_snapshots_are_copies(store: RunStore) -> None:
    jobs = JobManager(store)
    job_id = jobs.start(quick_config(epochs=1))
    snap = jobs.wait(job_id, 60)
    snap.history[0]["val_accuracy"] = -1.0
    assert jobs.snapshot(job_id).history[0]["val_accuracy"] >= 0


def test_starting_a_manager_marks_runs_of_dead_processes_interrupted(store: RunStore) -> None:
    dead = int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    )
    run = store.create_run(quick_config())
    with sqlite3.connect(store.db_path) as con:
        con.execute("UPDATE runs SET pid = ? WHERE id = ?", (dead, run.id))
    jobs = JobManager(store)
    assert jobs.interrupted == [run.id] and store.get_run(run.id).status == "interrupted"
