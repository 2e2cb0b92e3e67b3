"""Background training jobs: a thread per run, a stop event, a consistent progress snapshot, and a FIFO queue.

At most `max_running` jobs train at once; later ones wait in order as "queued" and start when a slot frees.
A queued job that is stopped is "cancelled": it never trained, so it leaves no run in the store.
On a private-mode server (`private=True`) each job's run belongs to the visitor who started it, and
fair-use limits hold per visitor: one job at a time, bounded epochs, images, seconds and disk.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.callbacks import Callback, TrainState
from core.config import RunConfig
from core.errors import LightboxError, LimitError, TrainingError
from core.memory import release_free_memory
from core.runs import RunInfo, RunStore
from core.sharing import Limits
from core.train_runs import train_run
from core.workspaces import Workspaces

__all__ = ["JobManager", "JobSnapshot"]

ACTIVE = ("queued", "starting", "running")
KEEP_ENDED = 100  # ended jobs a server remembers (at least the last hour's, whatever their number)


def default_max_jobs() -> int:
    """Return $LIGHTBOX_MAX_JOBS, or one concurrent job per 4 CPU cores (at least one)."""
    value = os.environ.get("LIGHTBOX_MAX_JOBS", "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError as exc:
            raise TrainingError(f"LIGHTBOX_MAX_JOBS must be a whole number such as 1 or 2 (got '{value}').") from exc
    return max(1, (os.cpu_count() or 1) // 4)


@dataclass(frozen=True)
class JobSnapshot:
    """A copy of one job's progress, safe to read from any thread."""

    job_id: str
    config: RunConfig
    status: str  # queued, starting, running, finished, stopped, failed, cancelled
    started: float
    owner: str | None = None  # the session that started it; only it may stop the job
    queue_position: int | None = None  # 1 = next to start, while queued
    run_id: str | None = None
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    batches: int = 0
    loss: float = float("nan")
    history: tuple[dict[str, float], ...] = ()
    error: str | None = None
    finished: float | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def progress(self) -> float:
        """Return the fraction of batches done over the whole fit, 0 to 1."""
        if self.status in ("finished",):
            return 1.0
        if not self.epochs or not self.batches:
            return 0.0
        done = (max(self.epoch, 1) - 1) * self.batches + self.batch
        return min(done / (self.epochs * self.batches), 1.0)


class Job(Callback):
    """One training run in a thread; it is its own callback, so progress lands under its lock."""

    def __init__(
        self,
        config: RunConfig,
        store: RunStore,
        owner: str | None = None,
        on_done: Callable[[Job], None] | None = None,
        max_seconds: float | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.id = uuid.uuid4().hex[:12]
        self._callbacks = tuple(callbacks)
        self.owner = owner
        self.max_seconds = max_seconds  # fair use: stopped (and kept) after this long
        self._began = 0.0
        self._limit_hit: str | None = None
        self._store = store
        self._on_done = on_done
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.done = threading.Event()  # set once the job has ended, trained or not
        self._state: dict[str, Any] = {
            "job_id": self.id,
            "config": config,
            "status": "queued",
            "started": time.time(),
            "owner": owner,
            "epochs": config.train.epochs,
        }
        self._history: list[dict[str, float]] = []
        self.thread = threading.Thread(target=self._run, name=f"lightbox-train-{self.id}", daemon=True)

    def begin(self) -> bool:
        """Leave the queue and start training in the job's thread; return False if no thread could start."""
        self._update(status="starting", queue_position=None)
        try:
            self.thread.start()
            _alive.add(self)
        except RuntimeError as exc:  # "can't start new thread": the server is out of threads or memory
            self._update(
                status="failed",
                error=f"The training could not start ({exc}); stop other jobs or restart the dashboard.",
                finished=time.time(),
            )
            self.done.set()
            return False
        return True

    def cancel(self) -> None:
        """End a job that never left the queue; it leaves no run behind."""
        self._stop.set()
        self._update(status="cancelled", queue_position=None, finished=time.time())
        self.done.set()

    def _update(self, **values: Any) -> None:
        with self._lock:
            self._state.update(values)

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return JobSnapshot(**self._state, history=tuple(dict(r) for r in self._history))

    def stop(self) -> None:
        self._stop.set()

    def _created(self, run: RunInfo) -> None:
        self._update(run_id=run.id, status="running")

    def on_batch_end(self, state: TrainState) -> None:
        self._update(epoch=state.epoch, batch=state.batch, batches=state.batches, loss=state.loss)
        if self.max_seconds is not None and time.monotonic() - self._began > self.max_seconds:
            self._limit_hit = (
                f"Stopped at the time limit of {self.max_seconds:.0f} s per training job on this server; "
                "the run is kept. Train fewer epochs or on fewer images to finish within it."
            )
            self._stop.set()

    def on_epoch_end(self, state: TrainState) -> None:
        with self._lock:
            self._history.append(dict(state.history.last or {}))

    def _run(self) -> None:
        self._began = time.monotonic()
        try:
            run = train_run(
                self._state["config"], self._store, [self, *self._callbacks], self._stop, on_created=self._created
            )
            self._update(status=run.status, error=self._limit_hit or run.error)
        except LightboxError as exc:
            self._update(status="failed", error=str(exc))
        except Exception as exc:  # a job thread must never die silently
            self._update(status="failed", error=f"Unexpected error: {type(exc).__name__}: {exc}")
        finally:
            release_free_memory()  # what the job's batches and model held goes back to the system
            self._update(finished=time.time())
            self.done.set()
            if self._on_done is not None:
                self._on_done(self)


EXIT_WAIT_S = 30.0  # at exit, how long to wait for training threads to finish their batch
_alive: weakref.WeakSet[Job] = weakref.WeakSet()


@atexit.register
def _stop_at_exit() -> None:
    """Stop training after the current batch (the run is kept, stopped) before torch is torn down under it.

    A process that exits while a daemon thread is inside torch aborts ("terminate called without an
    active exception"); a server stopped with Ctrl-C during a job did.
    """
    jobs = [job for job in list(_alive) if job.thread.is_alive()]
    for job in jobs:
        job.stop()
    deadline = time.monotonic() + EXIT_WAIT_S
    for job in jobs:
        job.thread.join(max(0.0, deadline - time.monotonic()))


@dataclass
class JobManager:
    """Jobs of one process over one run store, at most `max_running` training at once, the rest queued in order.

    On start it marks runs left running by dead processes as interrupted. With `private`, a job's run
    belongs to its owner's workspace and `limits` (default: from the environment) apply per owner.
    """

    store: RunStore
    max_running: int | None = None  # None: default_max_jobs()
    private: bool = False
    limits: Limits | None = None
    jobs: dict[str, Job] = field(default_factory=dict)
    interrupted: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._running = 0
        self.max_running = max(1, self.max_running or default_max_jobs())
        if self.private and self.limits is None:
            self.limits = Limits.from_env()
        self.interrupted = self.store.mark_interrupted()

    def _check_fair_use(self, config: RunConfig, owner: str, limits: Limits) -> None:
        """Raise LimitError, with what to do, when a visitor's job would pass a fair-use limit."""
        from core.data.registry import load_dataset  # only a private server's jobs need it here

        if any(s.active for s in self.snapshots(owner)):
            raise LimitError(
                "You already have a training job running, and each visitor trains one at a time here. "
                "Wait for it to finish or stop it, then start this one."
            )
        if config.train.epochs > limits.epochs:
            raise LimitError(
                f"{config.train.epochs} epochs is more than this server allows per job ({limits.epochs}). "
                f"Choose {limits.epochs} or fewer."
            )
        images = len(load_dataset(config.data))
        if images > limits.images:
            raise LimitError(
                f"This dataset has {images:,} images, more than this server trains on per job ({limits.images:,}). "
                "Choose a smaller dataset (or fewer generated images)."
            )
        Workspaces(self.store.home).check_disk(owner, limits.disk_mb)

    def start(self, config: RunConfig, owner: str | None = None, callbacks: Sequence[Callback] = ()) -> str:
        """Queue training `config` for `owner` with extra `callbacks`, starting it when a slot is free; return its id.

        On a private server the run is `owner`'s, and a job past a fair-use limit raises LimitError.
        """
        store, seconds = self.store, None
        if self.private and owner is not None:
            limits = self.limits or Limits()
            self._check_fair_use(config, owner, limits)
            store, seconds = self.store.scoped(owner), limits.seconds
        job = Job(config, store, owner, on_done=self._finished, max_seconds=seconds, callbacks=callbacks)
        with self._lock:
            self._forget_old()
            self.jobs[job.id] = job
            self._queue.append(job)
            self._dispatch()
        return job.id

    def _dispatch(self) -> None:
        """Start queued jobs while slots are free and renumber the rest (caller holds the lock)."""
        while self._queue and self._running < (self.max_running or 1):
            self._running += 1
            if not self._queue.popleft().begin():
                self._running -= 1  # its slot was never used
        for position, job in enumerate(self._queue, start=1):
            job._update(queue_position=position)

    def _forget_old(self) -> None:
        """Drop the oldest ended jobs beyond KEEP_ENDED, if ended over an hour ago (caller holds the lock).

        Their runs stay in the store; only this process's progress records go, so a long-lived server
        does not grow without bound.
        """
        ended = sorted((j.snapshot() for j in self.jobs.values() if j.done.is_set()), key=lambda s: s.finished or 0)
        hour_ago = time.time() - 3600
        for snap in ended[: max(0, len(ended) - KEEP_ENDED)]:
            if (snap.finished or 0) < hour_ago:
                del self.jobs[snap.job_id]

    def forget(self, owner: str) -> None:
        """Drop the records of an owner's ended jobs (their workspace was swept)."""
        with self._lock:
            for job_id in [i for i, j in self.jobs.items() if j.owner == owner and j.done.is_set()]:
                del self.jobs[job_id]

    def _finished(self, job: Job) -> None:
        with self._lock:
            self._running -= 1
            self._dispatch()

    def snapshot(self, job_id: str) -> JobSnapshot:
        return self.jobs[job_id].snapshot()

    def snapshots(self, owner: str | None = None) -> list[JobSnapshot]:
        """Return every job of this process (or only `owner`'s), newest first."""
        with self._lock:
            jobs = [j for j in self.jobs.values() if owner is None or j.owner == owner]
        return sorted((j.snapshot() for j in jobs), key=lambda s: s.started, reverse=True)

    def stop(self, job_id: str) -> None:
        """Ask a job to stop after its current batch, or cancel it while it is still queued."""
        job = self.jobs[job_id]
        with self._lock:
            if job in self._queue:
                self._queue.remove(job)
                job.cancel()
                self._dispatch()
                return
        job.stop()

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        """Block until a job ends (or the timeout passes); return its snapshot."""
        job = self.jobs[job_id]
        if job.done.wait(timeout) and job.thread.ident is not None:
            job.thread.join(timeout)  # so the freed slot has gone to the next queued job
        return self.snapshot(job_id)
