"""The SQLite journal mode for a run store: WAL on a local disk, the rollback journal on a network share.

In WAL mode readers never block the writer (a training process logging epochs while dashboards poll),
but WAL keeps its index in shared memory, so every process must be on one host: SQLite documents that
WAL does not work over a network filesystem. A home on NFS, SMB or similar therefore keeps the rollback
journal, where a reader holds its lock only for one short SELECT and a writer waits (busy timeout) for it.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import suppress
from pathlib import Path

__all__: list[str] = []  # nothing here is part of core's public API

NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre", "gpfs", "beegfs"}
)
NETWORK_FUSE = ("sshfs", "s3fs", "gcsfuse", "rclone", "juicefs", "glusterfs")


def filesystem_type(path: Path, mounts: str | None = None) -> str:
    """Return the type of the filesystem holding `path` from /proc/mounts (or `mounts`), or "" when unknown."""
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text()
        except OSError:  # not Linux: assume a local disk
            return ""
    target = os.path.realpath(path)
    best, kind = "", ""
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, parts[2]
    return kind


def is_network_filesystem(kind: str) -> bool:
    """Say whether a filesystem type names a network share."""
    return kind in NETWORK_FILESYSTEMS or (kind.startswith("fuse.") and kind[5:] in NETWORK_FUSE)


def journal_mode(path: Path, mounts: str | None = None) -> str:
    """Return "WAL" for a database on a local disk and "DELETE" (the rollback journal) on a network share."""
    override = os.environ.get("LIGHTBOX_SQLITE_JOURNAL", "").strip().upper()
    if override in ("WAL", "DELETE"):
        return override
    return "DELETE" if is_network_filesystem(filesystem_type(path, mounts)) else "WAL"


def set_journal_mode(con: sqlite3.Connection, path: Path) -> str:
    """Put the database at `path` in the journal mode that suits its filesystem; return the mode it has now."""
    wanted = journal_mode(path)
    current = str(con.execute("PRAGMA journal_mode").fetchone()[0]).upper()
    if current != wanted:
        with suppress(sqlite3.OperationalError):  # another process holds the database: it keeps its mode for now
            current = str(con.execute(f"PRAGMA journal_mode={wanted}").fetchone()[0]).upper()
    return current
