"""Heavy one-off work for a server runs in a child process that the kernel stops first (core.child)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import core.child
from core.child import run_command
from core.errors import ExportError

ROOT = Path(__file__).resolve().parent.parent


def test_a_failed_command_raises_its_own_sentence(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="There is no run 'nope'"):
        run_command(["export", "nope", "--format", "pt2"], tmp_path, "Writing the .pt2 file", ExportError)


def test_a_child_stopped_for_memory_is_a_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    killed = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"  # what the kernel's OOM killer does
    monkeypatch.setattr(core.child, "_argv", lambda args: [sys.executable, "-c", killed])
    with pytest.raises(ExportError, match="Writing the ONNX file ran out of memory on this server and was stopped"):
        run_command(["export", "x", "--format", "onnx"], tmp_path, "Writing the ONNX file", ExportError)


@pytest.mark.skipif(not Path("/proc/self/oom_score_adj").exists(), reason="Linux's OOM killer")
def test_the_child_asks_to_be_stopped_first() -> None:
    code = (
        "from core.memory import stop_me_first\n"
        "assert stop_me_first()\n"
        "print(open('/proc/self/oom_score_adj').read())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "1000"
