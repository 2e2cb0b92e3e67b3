"""Private mode's sweep: the workspaces of visitors long gone are deleted, with what they held, once a minute."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import streamlit as st

import core
from core.memory import release_free_memory
from core.sharing import Limits
from core.workspaces import Workspaces
from dashboard.resources import forget_cached, get_jobs, is_private, session_owner, teach_examples
from dashboard.teach_store import ExampleStore

SWEEP_EVERY = 60.0  # seconds between sweeps, per server


class _Sweeper:
    """Once a minute at most, per server, in a background thread: delete the workspaces of visitors long gone."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last = 0.0  # 0: sweep on the first call, i.e. at server start
        self.thread: threading.Thread | None = None
        self.clock: threading.Thread | None = None  # sweeps when no page runs (see _sweep_on_the_clock)
        self.stopped = False

    def due(self) -> bool:
        """Say whether a sweep may start now (and note that one does)."""
        with self.lock:
            busy = self.thread is not None and self.thread.is_alive()
            if busy or (self.last and time.monotonic() - self.last < SWEEP_EVERY):
                return False
            self.last = time.monotonic()
            return True


@st.cache_resource(show_spinner=False, on_release=lambda sweeper: setattr(sweeper, "stopped", True))
def _sweeper(home: str) -> _Sweeper:
    return _Sweeper()


def _sweep(home: str, ttl: float, keep: set[str], jobs: core.JobManager, examples: ExampleStore) -> None:
    gone = Workspaces(home).sweep(ttl, keep=keep)
    for ws in gone:
        jobs.forget(ws)
        examples.forget(ws)
    if gone:
        forget_cached()
        release_free_memory()  # what the gone visitors' models, examples and uploads held


def _start(home: str, sweeper: _Sweeper, keep: set[str], jobs: core.JobManager, examples: ExampleStore) -> None:
    """Sweep in a thread of its own (a workspace whose visitor trains is kept)."""
    keep = keep | {s.owner for s in jobs.snapshots() if s.active and s.owner}
    ttl = (jobs.limits or Limits.from_env()).ttl
    sweeper.thread = threading.Thread(
        target=_sweep, args=(home, ttl, keep, jobs, examples), name="lightbox-sweep", daemon=True
    )
    sweeper.thread.start()


def _sweep_on_the_clock(home: str, sweeper: _Sweeper, jobs: core.JobManager, examples: ExampleStore) -> None:
    """Sweep once a minute whether or not pages run: swept only by page runs, the workspaces of a class that had
    left stayed on disk until the next visitor came, past their time limit. Ends with its home (a test's)."""
    while not sweeper.stopped and (Path(home) / "runs.sqlite").is_file():
        time.sleep(SWEEP_EVERY)
        if not sweeper.stopped and sweeper.due():
            _start(home, sweeper, set(), jobs, examples)


def sweep_workspaces() -> threading.Thread | None:
    """In private mode, start removing the workspaces idle past LIGHTBOX_WORKSPACE_TTL (at most once a minute).

    The sweep runs in its own thread, so a page (the first after a restart, say) never waits for it; the first
    call also starts the server's clock, which sweeps every minute while no page runs.
    """
    home = str(core.default_home())
    sweeper = _sweeper(home)
    if not is_private():
        return None
    jobs, examples = get_jobs(), teach_examples()
    with sweeper.lock:
        if sweeper.clock is None:
            sweeper.clock = threading.Thread(
                target=_sweep_on_the_clock, args=(home, sweeper, jobs, examples), name="lightbox-clock", daemon=True
            )
            sweeper.clock.start()
    if not sweeper.due():
        return None
    _start(home, sweeper, {session_owner()}, jobs, examples)  # this visitor is here, whatever the records say
    return sweeper.thread
