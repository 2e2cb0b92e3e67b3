from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from core import RunConfig, RunNotFoundError, RunStore, StoreError, WeightsError


def test_round_trip_of_config_history_metrics_and_weights(store: RunStore) -> None:
    config = RunConfig(name="round trip")
    run = store.create_run(config, input_spec={"channels": 1}, params=42, fingerprint="abc", device="cpu")
    assert run.status == "running" and run.config == config and run.params == 42
    store.log_epoch(run.id, {"epoch": 1, "val_accuracy": 0.5})
    store.log_epoch(run.id, {"epoch": 2, "val_accuracy": 0.75})
    weights = {"w": torch.arange(6.0).view(2, 3)}
    store.save_weights(run.id, weights, {"input_spec": {"channels": 1}})
    store.finish_run(run.id, "finished", {"val_accuracy": 0.75})

    again = RunStore(store.home)  # a new process would open it like this
    info = again.get_run(run.id)
    assert info.status == "finished" and info.metrics == {"val_accuracy": 0.75}
    assert info.config == config and info.fingerprint == "abc" and info.input_spec == {"channels": 1}
    assert [r["epoch"] for r in again.history(run.id)] == [1, 2]
    state, meta = again.load_weights(run.id)
    assert torch.equal(state["w"], weights["w"]) and meta == {"input_spec": {"channels": 1}}
    assert [r.id for r in again.list_runs()] == [run.id]


def test_an_imported_run_keeps_its_id_unless_taken_and_belongs_to_the_importer(store: RunStore) -> None:
    original = store.create_run(RunConfig(name="made elsewhere"), input_spec={"channels": 1}, device="cpu")
    store.finish_run(original.id, "finished", {"val_accuracy": 0.9})
    info = store.get_run(original.id)
    payload = {"state_dict": {"w": torch.ones(2)}, "meta": {}}
    rows = [{"epoch": 1, "val_accuracy": 0.9}]

    elsewhere = RunStore(store.home.parent / "elsewhere").scoped("visitor")
    assert elsewhere.import_run(info, rows, payload) == original.id  # a free, safe id is kept
    copy = elsewhere.get_run(original.id)
    assert (copy.owner, copy.status, copy.metrics, copy.device) == ("visitor", "finished", {"val_accuracy": 0.9}, "cpu")
    assert copy.host is None and copy.pid is None  # no process here trains it
    assert elsewhere.history(original.id) == rows
    state, meta = elsewhere.load_weights(original.id)
    assert torch.equal(state["w"], torch.ones(2)) and meta == {"run_id": original.id}

    second = store.import_run(info, rows, payload)  # the id is taken in its own store
    unsafe = store.import_run(replace(info, id="../outside"), rows, payload)
    assert len({original.id, second, unsafe}) == 3 and all(store.weights_path(i).is_file() for i in (second, unsafe))


def test_runs_are_listed_newest_first_and_filtered(store: RunStore) -> None:
    first = store.create_run(RunConfig(name="a"))
    second = store.create_run(RunConfig(name="b"))
    store.finish_run(first.id, "stopped")
    ids = [r.id for r in store.list_runs()]
    assert set(ids) == {first.id, second.id}
    assert [r.id for r in store.list_runs("stopped")] == [first.id]


def test_delete_removes_metadata_and_files(store: RunStore) -> None:
    run = store.create_run(RunConfig())
    store.save_weights(run.id, {"w": torch.zeros(1)}, {})
    store.delete_run(run.id)
    assert not store.run_dir(run.id).exists()
    with pytest.raises(RunNotFoundError):
        store.get_run(run.id)


def test_missing_and_corrupt_weights_are_clear_errors(store: RunStore) -> None:
    run = store.create_run(RunConfig())
    with pytest.raises(WeightsError, match="no saved weights"):
        store.load_weights(run.id)
    store.weights_path(run.id).write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot be read"):
        store.load_weights(run.id)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-checkpoint",))


def test_a_checkpoint_carrying_code_is_refused(store: RunStore, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = store.create_run(RunConfig())
    store.weights_path(run.id).write_bytes(pickle.dumps({"state_dict": _Exploit()}, protocol=2))
    with pytest.raises(WeightsError):
        store.load_weights(run.id)
    assert not (tmp_path / "pwned-by-checkpoint").exists()


def test_weights_are_written_atomically(store: RunStore) -> None:
    run = store.create_run(RunConfig())
    store.save_weights(run.id, {"w": torch.zeros(3)}, {})
    leftovers = [p.name for p in store.run_dir(run.id).iterdir() if p.name != "weights.pt"]
    assert leftovers == []


def test_runs_of_dead_processes_are_marked_interrupted(store: RunStore) -> None:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(proc.stdout)
    run = store.create_run(RunConfig())
    store.log_epoch(run.id, {"epoch": 1, "val_accuracy": 0.5})
    alive = store.create_run(RunConfig())
    import sqlite3

    with sqlite3.connect(store.db_path) as con:
        con.execute("UPDATE runs SET pid = ?, host = ? WHERE id = ?", (dead_pid, socket.gethostname(), run.id))
    assert store.mark_interrupted() == [run.id]
    assert store.get_run(run.id).status == "interrupted"
    assert store.history(run.id) == [{"epoch": 1, "val_accuracy": 0.5}]  # nothing lost
    assert store.get_run(alive.id).status == "running"


def test_unknown_run_is_a_clear_error(store: RunStore) -> None:
    with pytest.raises(RunNotFoundError, match="python -m core runs"):
        store.get_run("no-such-run")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_home_is_a_clear_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(StoreError, match="LIGHTBOX_HOME"):
        RunStore(locked / "home")


def test_home_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="LIGHTBOX_HOME"):
        RunStore(blocker)


def test_concurrent_metric_updates_keep_every_key(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib
    import json
    import threading
    import types

    import core.runs

    run = store.create_run(RunConfig(name="measured twice"))
    barrier = threading.Barrier(2, timeout=0.5)

    def loads(text: str) -> object:  # both sessions read the old metrics before either writes, if they can
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return json.loads(text)

    monkeypatch.setattr(core.runs, "json", types.SimpleNamespace(loads=loads, dumps=json.dumps))
    threads = [threading.Thread(target=store.update_metrics, args=(run.id, {key: 1.0})) for key in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.undo()
    assert store.get_run(run.id).metrics == {"a": 1.0, "b": 1.0}
