"""Background training jobs: a thread per run, a stop event, and a consistent progress snapshot."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from core.callbacks import Callback, TrainState
from core.config import RunConfig
from core.errors import LightboxError
from core.experiment import train_run
from core.runs import RunInfo, RunStore

ACTIVE = ("starting", "running")


@dataclass(frozen=True)
class JobSnapshot:
    """A copy of one job's progress, safe to read from any thread."""

    job_id: str
    config: RunConfig
    status: str  # starting, running, finished, stopped, failed
    started: float
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

    def __init__(self, config: RunConfig, store: RunStore) -> None:
        self.id = uuid.uuid4().hex[:12]
        self._store = store
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._state: dict[str, Any] = {
            "job_id": self.id,
            "config": config,
            "status": "starting",
            "started": time.time(),
            "epochs": config.train.epochs,
        }
        self._history: list[dict[str, float]] = []
        self.thread = threading.Thread(target=self._run, name=f"lightbox-train-{self.id}", daemon=True)

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

    def on_epoch_end(self, state: TrainState) -> None:
        with self._lock:
            self._history.append(dict(state.history.last or {}))

    def _run(self) -> None:
        try:
            run = train_run(self._state["config"], self._store, [self], self._stop, on_created=self._created)
            self._update(status=run.status, error=run.error)
        except LightboxError as exc:
            self._update(status="failed", error=str(exc))
        except Exception as exc:  # a job thread must never die silently
            self._update(status="failed", error=f"Unexpected error: {type(exc).__name__}: {exc}")
        finally:
            self._update(finished=time.time())


@dataclass
class JobManager:
    """Jobs of one process over one run store; marks runs left running by dead processes on start."""

    store: RunStore
    jobs: dict[str, Job] = field(default_factory=dict)
    interrupted: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.interrupted = self.store.mark_interrupted()

    def start(self, config: RunConfig) -> str:
        """Start training `config` in the background; return the job id."""
        job = Job(config, self.store)
        with self._lock:
            self.jobs[job.id] = job
        job.thread.start()
        return job.id

    def snapshot(self, job_id: str) -> JobSnapshot:
        return self.jobs[job_id].snapshot()

    def snapshots(self) -> list[JobSnapshot]:
        """Return every job of this process, newest first."""
        with self._lock:
            jobs = list(self.jobs.values())
        return sorted((j.snapshot() for j in jobs), key=lambda s: s.started, reverse=True)

    def stop(self, job_id: str) -> None:
        """Ask a job to stop after its current batch."""
        self.jobs[job_id].stop()

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        """Block until a job ends (or the timeout passes); return its snapshot."""
        self.jobs[job_id].thread.join(timeout)
        return self.snapshot(job_id)
