from __future__ import annotations

import gc
import os
import sqlite3
import subprocess
import sys
import time

import pytest
import torch

from core import JobManager, RunStore, TrainingError
from core.devices import cap_threads
from core.jobs import default_max_jobs
from core.models.registry import Classifier
from tests.helpers import quick_config, wait_until


def test_a_job_trains_in_the_background_and_reports_progress(store: RunStore) -> None:
    jobs = JobManager(store)
    job_id = jobs.start(quick_config(epochs=3))
    seen_progress = []

    def ended() -> bool:
        snap = jobs.snapshot(job_id)
        seen_progress.append(snap.progress)
        return not snap.active

    wait_until(ended, 60, 0.005)
    snap = jobs.wait(job_id, 60)
    assert snap.status == "finished" and snap.progress == 1.0 and snap.error is None
    assert [r["epoch"] for r in snap.history] == [1, 2, 3]
    assert seen_progress == sorted(seen_progress)  # never goes backwards
    assert store.get_run(snap.run_id).status == "finished"
    assert jobs.snapshots()[0].job_id == job_id


def test_stop_ends_a_job_within_one_batch_and_keeps_the_run(store: RunStore) -> None:
    jobs = JobManager(store)
    job_id = jobs.start(quick_config(epochs=200, batch_size=16))
    wait_until(lambda: jobs.snapshot(job_id).batch >= 2 or jobs.snapshot(job_id).epoch >= 2, 30, 0.01)
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


def test_jobs_beyond_the_limit_queue_in_order_and_start_when_a_slot_frees(store: RunStore) -> None:
    jobs = JobManager(store, max_running=1)
    first = jobs.start(quick_config(epochs=200, batch_size=16), owner="ann")
    second = jobs.start(quick_config(epochs=1), owner="bob")
    third = jobs.start(quick_config(epochs=1), owner="bob")
    assert (jobs.snapshot(second).status, jobs.snapshot(second).queue_position) == ("queued", 1)
    assert (jobs.snapshot(third).status, jobs.snapshot(third).queue_position) == ("queued", 2)
    assert jobs.snapshot(third).active and jobs.snapshot(third).progress == 0.0

    jobs.stop(third)  # cancelled while queued: it never trains and leaves no run
    assert jobs.snapshot(third).status == "cancelled" and jobs.snapshot(third).run_id is None
    assert jobs.snapshot(second).queue_position == 1

    wait_until(lambda: jobs.snapshot(first).epoch >= 1, 30, 0.01)
    assert jobs.snapshot(second).status == "queued"  # still waiting while the first one trains
    jobs.stop(first)
    assert jobs.wait(first, 30).status == "stopped"
    snap = jobs.wait(second, 60)  # started by itself once the slot was free
    assert snap.status == "finished" and snap.queue_position is None
    assert sorted(r.status for r in store.list_runs()) == ["finished", "stopped"]
    assert {s.job_id for s in jobs.snapshots(owner="bob")} == {second, third}


def test_two_slots_run_two_jobs_at_once(store: RunStore) -> None:
    jobs = JobManager(store, max_running=2)
    ids = [jobs.start(quick_config(epochs=200, batch_size=16)) for _ in range(3)]
    wait_until(lambda: all(jobs.snapshot(i).status == "running" for i in ids[:2]), 30, 0.01)
    assert jobs.snapshot(ids[2]).status == "queued"
    for job_id in ids:
        jobs.stop(job_id)
    assert [jobs.wait(i, 30).status for i in ids] == ["stopped", "stopped", "cancelled"]


def test_the_job_limit_comes_from_the_environment(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIGHTBOX_MAX_JOBS", "3")
    assert JobManager(store).max_running == 3
    monkeypatch.delenv("LIGHTBOX_MAX_JOBS")
    assert default_max_jobs() == max(1, (os.cpu_count() or 1) // 4)
    monkeypatch.setenv("LIGHTBOX_MAX_JOBS", "many")
    with pytest.raises(TrainingError, match="LIGHTBOX_MAX_JOBS"):
        JobManager(store)


def _live_models() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Classifier)


def test_a_finished_job_keeps_no_model_or_tensors(store: RunStore) -> None:
    before = _live_models()
    jobs = JobManager(store)
    snap = jobs.wait(jobs.start(quick_config(epochs=1)), 60)
    assert snap.status == "finished"
    assert _live_models() == before  # the job holds its history rows, not the trained network


def test_cap_threads_leaves_a_core_for_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    try:
        assert cap_threads(1) == 1 == torch.get_num_threads()
        monkeypatch.setenv("LIGHTBOX_THREADS", "2")
        assert cap_threads() == 2
        monkeypatch.delenv("LIGHTBOX_THREADS")
        assert cap_threads() == max(1, (os.cpu_count() or 1) - 1)
    finally:
        torch.set_num_threads(before)


def test_a_job_whose_thread_cannot_start_fails_and_frees_its_slot(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    real_start = threading.Thread.start

    def no_threads_left(thread: threading.Thread) -> None:
        if thread.name.startswith("lightbox-train-"):
            raise RuntimeError("can't start new thread")
        real_start(thread)

    jobs = JobManager(store, max_running=1)
    monkeypatch.setattr(threading.Thread, "start", no_threads_left)
    failed = jobs.wait(jobs.start(quick_config(epochs=1)), 5)
    assert failed.status == "failed" and "could not start" in (failed.error or "")
    monkeypatch.undo()
    assert jobs.wait(jobs.start(quick_config(epochs=1)), 60).status == "finished"


def test_a_long_lived_server_forgets_old_ended_jobs_but_keeps_their_runs(store, monkeypatch) -> None:
    from core import jobs as jobs_module

    monkeypatch.setattr(jobs_module, "KEEP_ENDED", 1)
    manager = JobManager(store, max_running=1)
    first, second = (manager.start(quick_config("simple", epochs=1)) for _ in range(2))
    for job_id in (first, second):
        manager.wait(job_id, timeout=60)
    manager.jobs[first]._update(finished=time.time() - 7200)  # ended two hours ago
    manager.jobs[second]._update(finished=time.time() - 60)  # ended a minute ago: kept whatever the limit
    third = manager.start(quick_config("simple", epochs=1))
    manager.wait(third, timeout=60)
    assert set(manager.jobs) == {second, third}
    assert len(store.list_runs()) == 3  # the runs themselves are the store's, and stay
