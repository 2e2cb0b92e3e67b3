"""Visitor workspaces in private mode: when each visitor was last seen, what each holds on disk, and the sweep.

A workspace's runs are rows of the run store with its id as owner (files in runs/<id>/); its datasets and
uploads live in workspaces/<id>/. The sweep deletes workspaces whose visitor has been gone longer than the
time limit, including those a crashed tab or a killed server left behind. It never touches the server's
material. Plain sqlite3 and files: no torch, so the first page can sweep before the models load.
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import time
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from core.errors import LightboxError, LimitError
from core.home import run_folder
from core.sharing import SERVER, is_workspace

if TYPE_CHECKING:
    from core.runs import RunStore

_SCHEMA = "CREATE TABLE IF NOT EXISTS workspaces (id TEXT PRIMARY KEY, last_seen REAL NOT NULL, browser TEXT)"


def workspace_dir(home: str | os.PathLike[str], workspace: str) -> Path:
    """Return the folder of one workspace's datasets and uploads."""
    if not is_workspace(workspace):
        raise ValueError(f"not a workspace id: {workspace!r}")
    return Path(home) / "workspaces" / workspace


def _folder_bytes(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


class Workspaces:
    """The workspaces of one Lightbox home: last-seen times in runs.sqlite, files on disk."""

    def __init__(self, home: str | os.PathLike[str]) -> None:
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute(_SCHEMA)
            if "browser" not in [row[1] for row in con.execute("PRAGMA table_info(workspaces)")]:
                con.execute("ALTER TABLE workspaces ADD COLUMN browser TEXT")  # a home from before browsers were kept

    def claim(self, workspace: str, browser: str) -> bool:
        """Tie `workspace` to the browser that opens it first (`browser`: a key of it, "" where none is known), and
        say whether `browser` is that one. The id rides in the page's address so that a reload finds it again; a
        copied address opened in another browser then finds the workspace taken, not the visitor's runs."""
        with self._connect() as con:
            row = con.execute("SELECT browser FROM workspaces WHERE id = ?", (workspace,)).fetchone()
            if row is None:
                insert = "INSERT INTO workspaces (id, last_seen, browser) VALUES (?, ?, ?)"
                con.execute(insert, (workspace, time.time(), browser))
            elif row[0] is None:
                con.execute("UPDATE workspaces SET browser = ? WHERE id = ?", (browser, workspace))
            else:
                return bool(row[0] == browser)
        return True

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.home / "runs.sqlite", timeout=30)) as con, con:
            yield con

    def touch(self, workspace: str, now: float | None = None) -> None:
        """Record that the visitor of `workspace` is here now."""
        if not is_workspace(workspace):
            return
        with self._connect() as con:
            con.execute(
                "INSERT INTO workspaces (id, last_seen) VALUES (?, ?) "
                "ON CONFLICT(id) DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen)",
                (workspace, time.time() if now is None else now),
            )

    def _run_ids(self, con: sqlite3.Connection, workspace: str) -> list[str]:
        try:
            return [r[0] for r in con.execute("SELECT id FROM runs WHERE owner = ?", (workspace,))]
        except sqlite3.OperationalError:  # no run store here yet
            return []

    def last_seen(self) -> dict[str, float]:
        """Return every workspace with a trace here and when it was last active (seen, trained, or saved a file)."""
        seen: dict[str, float] = {}

        def note(ws: str, when: float) -> None:
            if is_workspace(ws):
                seen[ws] = max(seen.get(ws, 0.0), when)

        with self._connect() as con:
            for ws, when in con.execute("SELECT id, last_seen FROM workspaces"):
                note(ws, when)
            with suppress(sqlite3.OperationalError):
                query = "SELECT owner, MAX(updated) FROM runs WHERE owner != ? GROUP BY owner"
                for ws, when in con.execute(query, (SERVER,)):
                    note(ws, when)
        root = self.home / "workspaces"
        for folder in root.iterdir() if root.is_dir() else ():
            with suppress(OSError):
                note(folder.name, max(p.stat().st_mtime for p in (folder, *folder.iterdir())))
        return seen

    def disk_bytes(self, workspace: str) -> int:
        """Return the bytes a workspace holds: its folder and its runs' files."""
        with self._connect() as con:
            runs = self._run_ids(con, workspace)
        return _folder_bytes(workspace_dir(self.home, workspace)) + sum(
            _folder_bytes(run_folder(self.home, r)) for r in runs
        )

    def check_disk(self, workspace: str, limit_mb: float) -> None:
        """Raise LimitError when a workspace already holds `limit_mb` megabytes or more."""
        used = self.disk_bytes(workspace) / 1e6
        if used >= limit_mb:
            raise LimitError(
                f"Your work here takes {used:.0f} MB, the most one visitor may keep on this server "
                f"({limit_mb:.0f} MB). Delete runs (Train, under Keep or ship a run) or datasets (Data) you no longer "
                "need; Keep your work in the sidebar downloads your runs first."
            )

    def remove(self, workspace: str) -> None:
        """Delete a workspace: its runs (rows and files), its datasets and uploads, and its record."""
        folder = workspace_dir(self.home, workspace)  # refuses anything but a workspace id
        with self._connect() as con:
            runs = self._run_ids(con, workspace)
            if runs:
                con.execute("DELETE FROM epochs WHERE run_id IN (SELECT id FROM runs WHERE owner = ?)", (workspace,))
                con.execute("DELETE FROM runs WHERE owner = ?", (workspace,))
            con.execute("DELETE FROM workspaces WHERE id = ?", (workspace,))
        for run_id in runs:
            shutil.rmtree(run_folder(self.home, run_id), ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)

    def sweep(self, ttl: float, now: float | None = None, keep: Iterable[str] = ()) -> list[str]:
        """Delete the workspaces idle for longer than `ttl` seconds, except those in `keep`; return their ids."""
        cutoff = (time.time() if now is None else now) - ttl
        kept = set(keep)
        gone = sorted(ws for ws, when in self.last_seen().items() if when < cutoff and ws not in kept)
        for ws in gone:
            self.remove(ws)
        return gone


def showcase_configs() -> tuple[RunConfig, ...]:
    """Return the server's showcase runs: trained once at first start so Compare and Classify are never empty.

    Two models on one dataset (the tour's pair: about 1-2 s each on a laptop) make a first comparison.
    """
    return tuple(
        RunConfig(DataConfig("digits"), ModelConfig(model), TrainConfig(epochs=10), name=f"showcase: digits, {title}")
        for model, title in (("cnn", "small CNN"), ("simple", "simple network"))
    )


def workspace_bundle(store: RunStore) -> bytes:
    """Return one .zip holding a run bundle (restorable on Train) for each run of the store's workspace."""
    from core.bundle import bundle_bytes, bundle_file_name  # torch: only when a visitor asks for their work

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:  # the bundles inside are compressed already
        for run in store.list_runs():
            if run.owner == store.viewer and run.status != "running":
                with suppress(LightboxError):  # a run that failed before its first epoch has no weights to keep
                    zf.writestr(bundle_file_name(run), bundle_bytes(store, run.id))
    return buf.getvalue()
