"""A shared run folder: a CLI run in another process shows live on the Train page; SQLite's journal suits the disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import RunStore
from core.shared_home import filesystem_type, is_network_filesystem, journal_mode
from tests.helpers import wait_until
from tests.helpers.pages import open_page

ROOT = Path(__file__).resolve().parent.parent
MOUNTS = """\
/dev/nvme0n1p2 / ext4 rw,relatime 0 0
fileserver:/export/team /mnt/team nfs4 rw,vers=4.2 0 0
//nas/share /mnt/nas cifs rw 0 0
me@box:/data /mnt/box fuse.sshfs rw 0 0
"""


def test_a_home_on_a_network_share_keeps_the_rollback_journal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIGHTBOX_SQLITE_JOURNAL", raising=False)
    assert filesystem_type(Path("/mnt/team/lightbox"), MOUNTS) == "nfs4"
    assert filesystem_type(Path("/mnt/teamwork"), MOUNTS) == "ext4"  # a longer name is not inside the mount
    assert [journal_mode(Path(p), MOUNTS) for p in ("/mnt/team/x", "/mnt/nas/x", "/mnt/box/x", "/home/x")] == [
        "DELETE",
        "DELETE",
        "DELETE",
        "WAL",
    ]
    assert not is_network_filesystem("ext4") and is_network_filesystem("fuse.sshfs")
    monkeypatch.setenv("LIGHTBOX_SQLITE_JOURNAL", "wal")
    assert journal_mode(Path("/mnt/team/x"), MOUNTS) == "WAL"


def test_a_local_store_uses_wal_so_readers_never_block_the_writer(store: RunStore) -> None:
    assert store.journal_mode == "WAL"
    assert RunStore(store.home).journal_mode == "WAL"  # reopening keeps it


def _wait_for_first_epoch(store: RunStore, proc: subprocess.Popen[str], timeout: float = 240) -> str:
    """Wait until the other process's run has logged an epoch; return its id."""

    def logged_run() -> str | None:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        runs = store.list_runs("running")
        return runs[0].id if runs and store.history(runs[0].id) else None

    return wait_until(logged_run, timeout, 0.5, "the command-line run logged no epoch in time")


@pytest.mark.slow
def test_train_page_shows_a_run_that_another_process_is_training(lightbox_home: Path) -> None:
    store = RunStore(lightbox_home)
    command = [sys.executable, "-m", "core", "--home", str(lightbox_home), "train", "--epochs", "300"]
    command += ["--name", "cli run"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        run_id = _wait_for_first_epoch(store, proc)
        at = open_page("train")
        assert "Running elsewhere" in [h.value for h in at.subheader]
        assert any(m.value.startswith("**cli run**") and run_id in m.value for m in at.markdown)
        assert any(c.value.startswith("Epoch ") and "of 300 · cpu · fp32" in c.value for c in at.caption)
        assert at.get("plotly_chart"), "the run's curves are drawn"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
