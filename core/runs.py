"""RunStore: every run's config, status, history, metrics (SQLite) and weights (files), together."""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import time
import warnings
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import torch

from core.config import RunConfig
from core.errors import ReadOnlyError, RunNotFoundError, StoreError, WeightsError
from core.home import RUNS_FOLDER, WEIGHTS_FILE, atomic_write_bytes, default_home, run_folder, write_problem
from core.shared_home import set_journal_mode
from core.sharing import SERVER

__all__ = ["RunInfo", "RunStore"]

STATUSES = ("running", "finished", "stopped", "failed", "interrupted")
_QUANTIZED_NOTICES = r"TypedStorage is deprecated|torch\.quantize_per_tensor"  # torch's, on each int8 tensor read
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # a run id becomes a folder name
_KEPT = ("name", "created", "updated", "status", "dataset", "model", "params", "fingerprint", "code_version", "device")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
    status TEXT NOT NULL, dataset TEXT NOT NULL, model TEXT NOT NULL, config TEXT NOT NULL,
    input_spec TEXT, metrics TEXT NOT NULL DEFAULT '{}', params INTEGER, fingerprint TEXT,
    code_version TEXT, device TEXT, host TEXT, pid INTEGER, error TEXT, owner TEXT NOT NULL DEFAULT 'server'
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, epoch INTEGER NOT NULL, row TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch)
);
"""


@dataclass(frozen=True)
class RunInfo:
    """One run's metadata as plain values."""

    id: str
    name: str
    created: float
    updated: float
    status: str
    config: RunConfig
    input_spec: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    params: int | None = None
    fingerprint: str | None = None
    code_version: str | None = None
    device: str | None = None
    host: str | None = None
    pid: int | None = None
    error: str | None = None
    owner: str = SERVER  # a visitor's workspace id, or the server (built-in, CLI, shared mode)

    @property
    def dataset(self) -> str:
        return self.config.data.name

    @property
    def model(self) -> str:
        return self.config.model.name


def _row_to_info(row: sqlite3.Row) -> RunInfo:
    return RunInfo(
        id=row["id"],
        name=row["name"],
        created=row["created"],
        updated=row["updated"],
        status=row["status"],
        config=RunConfig.from_dict(json.loads(row["config"])),
        input_spec=json.loads(row["input_spec"]) if row["input_spec"] else None,
        metrics=json.loads(row["metrics"] or "{}"),
        params=row["params"],
        fingerprint=row["fingerprint"],
        code_version=row["code_version"],
        device=row["device"],
        host=row["host"],
        pid=row["pid"],
        error=row["error"],
        owner=row["owner"],
    )


def load_tensors(source: str | os.PathLike[str] | IO[bytes]) -> Any:
    """torch.load tensors and plain values only (code is refused), without torch's notices on int8 tensors."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_QUANTIZED_NOTICES, category=UserWarning)
        return torch.load(source, map_location="cpu", weights_only=True)


def _new_run_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def _insert_run(con: sqlite3.Connection, row: dict[str, Any]) -> None:
    con.execute(f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunStore:
    """Runs under one home folder: `runs.sqlite` for metadata, `runs/<id>/weights.pt` for weights.

    A plain store sees every run and writes as the server. `scoped(workspace)` gives a visitor's view:
    it lists and reads the server's runs and the workspace's own, writes as the workspace, and may
    delete only the workspace's runs. This is the one place where runs are filtered by who looks.
    """

    viewer: str | None = None

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.db_path = self.home / "runs.sqlite"
        try:
            (self.home / RUNS_FOLDER).mkdir(parents=True, exist_ok=True)
            with self._connect() as con:
                self.journal_mode = set_journal_mode(con, self.db_path)  # WAL on a local disk only
                con.executescript(_SCHEMA)
                if "owner" not in {r["name"] for r in con.execute("PRAGMA table_info(runs)")}:  # a store from before
                    con.execute("ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT 'server'")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"Lightbox cannot write to '{self.home}' to keep runs ({write_problem(exc)}). "
                "Set LIGHTBOX_HOME to a writable folder."
            ) from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """Yield a connection inside one transaction (committed on success, rolled back on error)."""
        try:
            with closing(sqlite3.connect(self.db_path, timeout=30)) as con:
                con.row_factory = sqlite3.Row
                con.execute("PRAGMA foreign_keys = ON")
                with con:
                    yield con
        except sqlite3.OperationalError as exc:
            raise StoreError(
                f"The run store at '{self.db_path}' cannot be written: {write_problem(exc)}. "
                "Free some space or set LIGHTBOX_HOME to a writable folder."
            ) from exc

    def scoped(self, workspace: str) -> RunStore:
        """Return the view of a visitor's workspace: the server's runs and its own, writing as it."""
        view = copy.copy(self)
        view.viewer = workspace
        return view

    @property
    def owner(self) -> str:
        """Return who new runs written through this store belong to."""
        return self.viewer or SERVER

    def _visible(self) -> tuple[str, tuple[str, ...]]:
        """Return the SQL condition (and its values) for the runs this store may see."""
        return ("owner IN (?, ?)", (SERVER, self.viewer)) if self.viewer else ("1", ())

    def run_dir(self, run_id: str) -> Path:
        return run_folder(self.home, run_id)

    def weights_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / WEIGHTS_FILE

    def create_run(self, config: RunConfig, **fields: Any) -> RunInfo:
        """Record a new run as running, owned by this process; return it."""
        run_id = _new_run_id()
        now = time.time()
        name = config.name or f"{config.model.name} on {Path(config.data.name).name}"
        spec = fields.get("input_spec")
        row = {"id": run_id, "name": name, "created": now, "updated": now, "status": "running"}
        row |= {"dataset": config.data.name, "model": config.model.name, "config": json.dumps(config.to_dict())}
        row["input_spec"] = json.dumps(spec) if spec else None
        row |= {k: fields.get(k) for k in ("params", "fingerprint", "code_version", "device")}
        row |= {"host": socket.gethostname(), "pid": os.getpid(), "owner": self.owner}
        with self._connect() as con:
            _insert_run(con, row)
        self.run_dir(run_id).mkdir(parents=True, exist_ok=True)
        return self.get_run(run_id)

    def import_run(self, info: RunInfo, rows: list[dict[str, Any]], payload: dict[str, Any]) -> str:
        """Add a run made elsewhere, owned by this store's writer: weights, run and epochs, all or nothing.

        The run keeps `info.id` when that is a safe folder name not taken here, else it gets a new id; return it.
        """
        run_id, made = info.id if _SAFE_ID.fullmatch(info.id) else _new_run_id(), None
        try:
            with self._connect() as con:  # one transaction: the run row and its epochs appear together
                while (
                    con.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone()
                    or self.run_dir(run_id).exists()
                ):
                    run_id = _new_run_id()
                self.run_dir(run_id).mkdir(parents=True)
                made = self.run_dir(run_id)
                payload["meta"]["run_id"] = run_id
                atomic_write_bytes(self.weights_path(run_id), lambda f: torch.save(payload, f))
                row = {k: getattr(info, k) for k in _KEPT} | {"id": run_id, "error": info.error, "owner": self.owner}
                row |= {"config": json.dumps(info.config.to_dict()), "metrics": json.dumps(info.metrics)}
                row["input_spec"] = json.dumps(info.input_spec) if info.input_spec else None
                _insert_run(con, row)
                con.executemany(
                    "INSERT OR REPLACE INTO epochs (run_id, epoch, row) VALUES (?,?,?)",
                    [(run_id, int(r["epoch"]), json.dumps(r)) for r in rows],
                )
        except BaseException as exc:
            if made is not None:
                shutil.rmtree(made, ignore_errors=True)
            if isinstance(exc, OSError):
                raise StoreError(f"The run could not be written to '{self.home}' ({write_problem(exc)}).") from exc
            raise
        return run_id

    def log_epoch(self, run_id: str, row: dict[str, float]) -> None:
        """Append (or replace) one epoch's history row."""
        with self._connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO epochs (run_id, epoch, row) VALUES (?,?,?)",
                (run_id, int(row["epoch"]), json.dumps(row)),
            )
            con.execute("UPDATE runs SET updated = ? WHERE id = ?", (time.time(), run_id))

    def finish_run(
        self, run_id: str, status: str, metrics: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        """Set a run's final status, metrics and error message."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        with self._connect() as con:
            con.execute(
                "UPDATE runs SET status = ?, metrics = ?, error = ?, updated = ? WHERE id = ?",
                (status, json.dumps(metrics or {}), error, time.time(), run_id),
            )

    def update_metrics(self, run_id: str, values: dict[str, Any]) -> None:
        """Add or replace some of a run's metrics (measured later, e.g. latency), keeping the rest."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")  # hold the write lock from the read: no other writer's keys are lost
            row = con.execute("SELECT metrics FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFoundError(f"There is no run '{run_id}'. `python -m core runs` lists the runs.")
            metrics = {**json.loads(row["metrics"] or "{}"), **values}
            con.execute("UPDATE runs SET metrics = ? WHERE id = ?", (json.dumps(metrics), run_id))

    def get_run(self, run_id: str) -> RunInfo:
        """Return one run this store may see, or raise RunNotFoundError."""
        where, args = self._visible()
        with self._connect() as con:
            row = con.execute(f"SELECT * FROM runs WHERE id = ? AND {where}", (run_id, *args)).fetchone()
        if row is None:
            raise RunNotFoundError(f"There is no run '{run_id}'. `python -m core runs` lists the runs.")
        return _row_to_info(row)

    def list_runs(self, status: str | None = None) -> list[RunInfo]:
        """Return runs, newest first, optionally only those with one status."""
        where, args = self._visible()
        query = f"SELECT * FROM runs WHERE {where}"
        if status is not None:
            query, args = query + " AND status = ?", (*args, status)
        with self._connect() as con:
            rows = con.execute(query + " ORDER BY created DESC", args).fetchall()
        return [_row_to_info(r) for r in rows]

    def history(self, run_id: str) -> list[dict[str, float]]:
        """Return a run's per-epoch rows in epoch order."""
        if self.viewer:
            self.get_run(run_id)  # another workspace's run is not there for this view
        with self._connect() as con:
            rows = con.execute("SELECT row FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,)).fetchall()
        return [json.loads(r["row"]) for r in rows]

    def delete_run(self, run_id: str) -> None:
        """Remove a run's metadata, history and files (a visitor only their own)."""
        if self.viewer and self.get_run(run_id).owner != self.viewer:
            raise ReadOnlyError(f"Run {run_id} is built in: everyone can use it, nobody can delete it here.")
        self.get_run(run_id)
        with self._connect() as con:
            con.execute("DELETE FROM epochs WHERE run_id = ?", (run_id,))
            con.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        for path in sorted(self.run_dir(run_id).glob("*"), reverse=True):
            path.unlink(missing_ok=True)
        if self.run_dir(run_id).exists():
            self.run_dir(run_id).rmdir()

    def mark_interrupted(self) -> list[str]:
        """Mark running runs of this host whose process has died as interrupted; return their ids."""
        host = socket.gethostname()
        dead = [
            r.id
            for r in self.list_runs("running")
            if r.host == host and r.pid is not None and r.pid != os.getpid() and not _pid_alive(r.pid)
        ]
        for run_id in dead:
            info = self.get_run(run_id)
            self.finish_run(run_id, "interrupted", info.metrics, "The process training this run ended early.")
        return dead

    def save_weights(self, run_id: str, state_dict: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
        """Write a run's weights and the metadata needed to rebuild its model, atomically."""
        path = self.weights_path(run_id)
        tensors = {k: v.detach().cpu() if isinstance(v, torch.Tensor) else v for k, v in state_dict.items()}
        payload = {"state_dict": tensors, "meta": meta}  # int8 state dicts also hold dtypes
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, lambda f: torch.save(payload, f))
        except OSError as exc:  # the previous checkpoint, if any, is untouched: the write was atomic
            raise StoreError(
                f"Cannot save the weights of run {run_id}: {write_problem(exc)}. The last saved checkpoint is kept; "
                "free some space or set LIGHTBOX_HOME to a folder on a bigger disk."
            ) from exc
        return path

    def load_weights(self, run_id: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Return (state_dict, meta) of a run, loaded safely (tensors and plain values only)."""
        if self.viewer:
            self.get_run(run_id)
        path = self.weights_path(run_id)
        if not path.is_file():
            raise WeightsError(f"Run {run_id} has no saved weights (it may have failed before its first epoch).")
        try:
            payload = load_tensors(path)
        except Exception as exc:  # torch raises several types for corrupt or unsafe files
            raise WeightsError(f"The weights file of run {run_id} cannot be read: {exc}") from exc
        if not isinstance(payload, dict) or "state_dict" not in payload:
            raise WeightsError(f"The weights file of run {run_id} is not a Lightbox checkpoint.")
        return payload["state_dict"], payload.get("meta", {})
