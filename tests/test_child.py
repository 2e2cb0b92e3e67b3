"""Heavy one-off work for a server runs in a child process that the kernel stops first (core.child)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import core.child
from core.child import run_command
from core.errors import ExportError, LightboxError

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


def test_an_int8_copy_made_by_a_child_is_the_visitors_own_and_reports_progress(tmp_path: Path) -> None:
    from core import RunStore
    from core.quantize_runs import is_int8, quantize_in_child
    from tests.helpers.runs import trained_run

    home = RunStore(tmp_path)
    mine, theirs = home.scoped("visitor-a"), home.scoped("visitor-b")
    fp32 = trained_run(mine, "simple", epochs=1)
    stages: list[tuple[str, float]] = []
    int8 = quantize_in_child(mine, fp32.id, lambda stage, done: stages.append((stage, done)))
    assert is_int8(int8) and int8.metrics["int8_of"] == fp32.id and int8.owner == "visitor-a"
    assert {r.id for r in theirs.list_runs()}.isdisjoint({fp32.id, int8.id})  # another visitor sees neither
    assert stages[0] == ("starting", 0.0) and stages[-1] == ("done", 1.0)  # the child's bar, line by line
    with pytest.raises(LightboxError, match=f"There is no run '{fp32.id}'"):
        quantize_in_child(theirs, fp32.id)  # refused before any child starts


def test_a_child_that_crashes_gives_a_sentence_not_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash = "raise RuntimeError('a bug deep inside')"
    monkeypatch.setattr(core.child, "_argv", lambda args: [sys.executable, "-c", crash])
    with pytest.raises(ExportError) as caught:
        run_command(["export", "x", "--format", "pt2"], tmp_path, "Exporting to pt2", ExportError)
    message = str(caught.value)
    assert message.startswith("Exporting to pt2 failed unexpectedly") and "Traceback" not in message
