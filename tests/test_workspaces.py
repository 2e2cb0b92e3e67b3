"""Ownership in core: a visitor's view of the run store and dataset list, fair-use limits, the sweep."""

from __future__ import annotations

import io
import os
import threading
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from core import DataConfig, JobManager, RunStore, load_dataset, train_run
from core.bundle import bundle_bytes, restore_bundle
from core.data.registry import save_user_dataset
from core.data.samples import dataset_from_samples
from core.data.user import delete_user_dataset, list_user_datasets
from core.errors import LimitError, ReadOnlyError, RunNotFoundError
from core.sharing import SERVER, Limits, SharingError, is_workspace, new_workspace, sharing_mode
from core.workspaces import Workspaces, workspace_bundle, workspace_dir
from tests.helpers import quick_config, wait_until


def _tiny_dataset(name: str):
    from PIL import Image

    def png(colour: str) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (16, 16), colour).save(buf, format="PNG")
        return buf.getvalue()

    return dataset_from_samples(name, {"red": [png("red")] * 4, "blue": [png("blue")] * 4})


def test_sharing_mode_defaults_to_private_only_on_community_cloud(tmp_path: Path) -> None:
    assert sharing_mode(None, tmp_path) == "shared"
    assert sharing_mode("", "/mount/src/lightbox") == "private"
    assert sharing_mode(" Private ", tmp_path) == "private"
    assert sharing_mode("shared", "/mount/src/lightbox") == "shared"  # the setting wins
    with pytest.raises(SharingError, match="'private' or 'shared'"):
        sharing_mode("public", tmp_path)


def test_workspace_ids_are_random_and_validated() -> None:
    a, b = new_workspace(), new_workspace()
    assert a != b and is_workspace(a) and is_workspace(b)
    for bad in ("", "../../etc", "x" * 21, "a/" + "b" * 20, None, 3, SERVER):
        assert not is_workspace(bad)


def test_a_workspace_belongs_to_the_browser_that_opened_it_first(lightbox_home: Path) -> None:
    import sqlite3

    spaces, mine = Workspaces(lightbox_home), new_workspace()
    assert spaces.claim(mine, "browser-a") and spaces.claim(mine, "browser-a")  # a reload, another tab
    assert not spaces.claim(mine, "browser-b")  # the address copied into another browser
    spaces.touch(older := new_workspace())  # seen before workspaces were tied to browsers
    assert spaces.claim(older, "browser-b") and not spaces.claim(older, "browser-a")
    before = lightbox_home / "before"  # a home from before: its table gains the column
    before.mkdir()
    with sqlite3.connect(before / "runs.sqlite") as con:
        con.execute("CREATE TABLE workspaces (id TEXT PRIMARY KEY, last_seen REAL NOT NULL)")
        con.execute("INSERT INTO workspaces VALUES (?, 0)", (mine,))
    assert Workspaces(before).claim(mine, "browser-b") and not Workspaces(before).claim(mine, "browser-a")


def test_a_visitor_sees_the_servers_runs_and_their_own_only(lightbox_home: Path) -> None:
    store = RunStore(lightbox_home)
    a, b = store.scoped(new_workspace()), store.scoped(new_workspace())
    built_in = train_run(quick_config(epochs=1), store)
    mine = train_run(quick_config(epochs=1), a)
    assert built_in.owner == SERVER and mine.owner == a.viewer
    assert {r.id for r in a.list_runs()} == {built_in.id, mine.id}
    assert {r.id for r in b.list_runs()} == {built_in.id}
    assert {r.id for r in store.list_runs()} == {built_in.id, mine.id}  # the server (CLI, shared mode) sees all
    for read in (b.get_run, b.history, b.load_weights, b.delete_run):
        with pytest.raises(RunNotFoundError):
            read(mine.id)
    with pytest.raises(ReadOnlyError, match="built in"):
        a.delete_run(built_in.id)
    a.delete_run(mine.id)
    assert not store.run_dir(mine.id).exists()


def test_a_visitors_datasets_are_theirs_and_load_through_their_runs(lightbox_home: Path) -> None:
    a, b = new_workspace(), new_workspace()
    save_user_dataset(_tiny_dataset("pets"), owner=a)
    save_user_dataset(_tiny_dataset("shared-set"))  # the server's, e.g. imported with the CLI
    assert {(d.name, d.owner) for d in list_user_datasets(a)} == {("shared-set", SERVER), ("pets", a)}
    assert [d.name for d in list_user_datasets(b)] == ["shared-set"]
    assert [d.name for d in list_user_datasets()] == ["shared-set"]
    assert len(load_dataset(DataConfig("pets", owner=a))) == 8
    with pytest.raises(Exception, match="pets"):
        load_dataset(DataConfig("pets", owner=b))
    with pytest.raises(ReadOnlyError):
        delete_user_dataset("shared-set", owner=b)
    store = RunStore(lightbox_home).scoped(a)
    config = replace(quick_config(epochs=1), data=DataConfig("pets", val_fraction=0.25, owner=a))
    assert train_run(config, store).status == "finished"


def test_a_bundle_carries_no_workspace_id_and_restores_as_the_restorer(lightbox_home: Path) -> None:
    a, b = new_workspace(), new_workspace()
    save_user_dataset(_tiny_dataset("pets"), owner=a)
    store = RunStore(lightbox_home)
    config = replace(quick_config(epochs=1), data=DataConfig("pets", val_fraction=0.25, owner=a))
    run = train_run(config, store.scoped(a))
    data = bundle_bytes(store.scoped(a), run.id)
    assert a.encode() not in zipfile.ZipFile(io.BytesIO(data)).read("config.json")
    restored = restore_bundle(store.scoped(b), data)
    assert restored.owner == b and restored.config.data.owner == b
    assert restored.id not in {r.id for r in store.scoped(a).list_runs()}
    keep = zipfile.ZipFile(io.BytesIO(workspace_bundle(store.scoped(a))))
    assert keep.namelist() == [f"lightbox-run-{run.id}.zip"]


def test_the_sweep_removes_only_idle_workspaces_and_all_they_hold(lightbox_home: Path) -> None:
    store = RunStore(lightbox_home)
    spaces = Workspaces(lightbox_home)
    gone, here = new_workspace(), new_workspace()
    built_in = train_run(quick_config(epochs=1), store)
    old_run = train_run(quick_config(epochs=1), store.scoped(gone))
    new_run = train_run(quick_config(epochs=1), store.scoped(here))
    save_user_dataset(_tiny_dataset("pets"), owner=gone)
    save_user_dataset(_tiny_dataset("pets"), owner=here)
    (lightbox_home / "workspaces" / "not-a-token").mkdir()  # something else: never touched
    now = time.time() + 7200  # two hours on: both idle past a one-hour limit ...
    spaces.touch(here, now)  # ... but this visitor was just seen
    started = time.perf_counter()
    assert spaces.sweep(3600, now=now) == [gone]
    print(f"sweep of one workspace: {time.perf_counter() - started:.4f} s")
    assert not workspace_dir(lightbox_home, gone).exists() and not store.run_dir(old_run.id).exists()
    assert {r.id for r in store.list_runs()} == {built_in.id, new_run.id}
    assert workspace_dir(lightbox_home, here).is_dir() and (lightbox_home / "workspaces" / "not-a-token").is_dir()
    assert spaces.sweep(3600, now=now + 7200, keep=[here]) == []  # a visitor with a job running is kept
    assert spaces.sweep(3600, now=now + 7200) == [here]
    assert [r.id for r in store.list_runs()] == [built_in.id]  # the server's material stays


def test_fair_use_limits_say_which_limit_and_what_to_do(lightbox_home: Path) -> None:
    store = RunStore(lightbox_home)
    jobs = JobManager(store, private=True, limits=Limits(epochs=5, images=1000, seconds=0.5, disk_mb=200))
    a = new_workspace()
    with pytest.raises(LimitError, match=r"6 epochs is more than this server allows per job \(5\)"):
        jobs.start(quick_config(epochs=6), owner=a)
    with pytest.raises(LimitError, match="1,797 images, more than this server trains on per job"):
        jobs.start(quick_config(epochs=2), owner=a)
    shapes = replace(quick_config(epochs=5, dataset="shapes"), data=DataConfig("shapes", image_size=16, samples=500))
    job = jobs.start(replace(shapes, train=replace(shapes.train, batch_size=4)), owner=a)
    with pytest.raises(LimitError, match="one at a time"):
        jobs.start(shapes, owner=a)
    snap = jobs.wait(job, timeout=120)
    assert snap.status == "stopped" and "time limit of 0 s per training job" in (snap.error or "")
    assert store.get_run(snap.run_id).owner == a
    tight = JobManager(store, private=True, limits=Limits(disk_mb=0.001))
    with pytest.raises(LimitError, match="the most one visitor may keep"):
        tight.start(shapes, owner=a)


def test_the_servers_clock_sweeps_gone_visitors_while_no_page_runs(
    lightbox_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A class that has left: its workspaces go on time, not when the next visitor opens a page."""
    from dashboard import sweep
    from dashboard.teach_store import ExampleStore

    monkeypatch.setattr(sweep, "SWEEP_EVERY", 0.1)
    gone = new_workspace()
    save_user_dataset(_tiny_dataset("pets"), owner=gone)
    Workspaces(lightbox_home).touch(gone, time.time() - 7200)  # last seen two hours ago
    os.utime(workspace_dir(lightbox_home, gone) / "datasets" / "pets.pt", (time.time() - 7200,) * 2)
    for folder in (workspace_dir(lightbox_home, gone) / "datasets", workspace_dir(lightbox_home, gone)):
        os.utime(folder, (time.time() - 7200,) * 2)
    sweeper = sweep._Sweeper()
    jobs = JobManager(RunStore(lightbox_home), private=True, limits=Limits(ttl=3600))
    clock = threading.Thread(
        target=sweep._sweep_on_the_clock, args=(str(lightbox_home), sweeper, jobs, ExampleStore()), daemon=True
    )
    clock.start()
    wait_until(lambda: not workspace_dir(lightbox_home, gone).exists(), timeout=30)
    sweeper.stopped = True
    clock.join(5)
    assert not clock.is_alive()
