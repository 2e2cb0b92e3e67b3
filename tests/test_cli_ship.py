"""The export, bundle and restore commands, and their one-line answers to mistakes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import RunStore
from core.cli import main
from core.export import read_metadata


def _values(out: str) -> dict[str, str]:
    return dict(re.findall(r"^(\w+): (\S+)$", out, flags=re.M))


@pytest.fixture
def run_id(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["train", "--model", "simple", "--epochs", "2"]) == 0
    return _values(capsys.readouterr().out)["run_id"]


def test_export_both_formats(capsys: pytest.CaptureFixture[str], run_id: str, tmp_path: Path) -> None:
    for fmt, out_arg, name in (("torchscript", "", "model.pt"), ("onnx", "digits.onnx", "digits.onnx")):
        assert main(["export", run_id, "--format", fmt, "--out", str(tmp_path / out_arg)]) == 0  # "": a folder
        out = _values(capsys.readouterr().out)
        assert out["format"] == fmt and out["saved"] == str(tmp_path / name)
        assert int(out["bytes"]) == (tmp_path / name).stat().st_size > 10_000
        assert read_metadata(tmp_path / name)["run_id"] == run_id


def test_bundle_then_restore_into_another_home(capsys: pytest.CaptureFixture[str], run_id: str, tmp_path: Path) -> None:
    assert main(["bundle", run_id, "--out", str(tmp_path)]) == 0  # a folder: the bundle goes inside, named
    archive = Path(_values(capsys.readouterr().out)["saved"])
    assert archive.parent == tmp_path and archive.name.startswith("lightbox-") and archive.suffix == ".zip"
    other = tmp_path / "other-home"
    assert main(["--home", str(other), "restore", str(archive)]) == 0
    out = _values(capsys.readouterr().out)
    assert (out["run_id"], out["status"], out["epochs"]) == (run_id, "finished", "2")
    assert RunStore(other).history(run_id) == RunStore(tmp_path / "home").history(run_id)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "{run}", "--format", "keras"], "Unknown export format 'keras'"),
        (["export", "nope"], "There is no run 'nope'"),
        (["bundle", "nope"], "There is no run 'nope'"),
        (["restore", "{tmp}/missing.zip"], "There is no file"),
        (["restore", "{tmp}/notes.zip"], "not a .zip"),
        (["restore", "{tmp}"], "is a folder; give a bundle's .zip file"),
    ],
)
def test_mistakes_are_one_line_messages(
    capsys: pytest.CaptureFixture[str], run_id: str, tmp_path: Path, argv: list[str], message: str
) -> None:
    (tmp_path / "notes.zip").write_text("just text")
    assert main([a.format(run=run_id, tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert [r.id for r in RunStore().list_runs()] == [run_id]  # nothing restored, nothing removed
