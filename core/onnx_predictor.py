"""Classify with a model's ONNX copy in onnxruntime: no torch import, so a command answers in a fraction of the time.

`python -m core export RUN --format onnx` writes a run's copy beside its weights (`runs/RUN/model.onnx`);
`python -m core export imagenet --format onnx` writes the built-in model's under the home
(`exports/imagenet.onnx`). `python -m core classify` then answers from the copy: importing torch takes 1.0-1.5 s
here, onnxruntime 0.1 s, and Lite0 answers 16 photos in 0.05 s in onnxruntime against 0.35 s in PyTorch
(benchmarks/cli_classify.py). A copy counts only while it is the model's own: written by the same code for
models, preparing images and exporting (`model_code_digest`), with the input form it was exported for, and, for
a run, after the run's weights. Otherwise `load` returns None and the caller takes the PyTorch path, which gives
the same answers (within float rounding).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.home import RUNS_FOLDER, WEIGHTS_FILE, run_folder
from core.prepare import Classification, InputSpec, Prediction, classify_with, prepare_array

__all__ = ["OnnxPredictor", "onnx_copy_path"]

METADATA_KEY = "lightbox.json"  # .pt2/TorchScript extra file and ONNX metadata_props key holding the metadata
EXPORTS_FOLDER = "exports"  # under the home: exported copies of the built-in (pretrained) models
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # a run id or a pretrained model's name: never a path


@cache
def model_code_digest() -> str:
    """Return a digest of the source that decides a copy's answers: the models, image preparation, export.

    Not the code version: a checkout's version changes with any edit anywhere (a README's), and an installed
    package's with no edit at all.
    """
    core = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted([*core.glob("models/*.py"), core / "prepare.py", core / "export.py"]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def onnx_copy_path(home: str | os.PathLike[str], model: str) -> Path | None:
    """Return where the ONNX copy of `model` (a run id, or a pretrained model's name) lives, or None if no name.

    A run's copy sits beside its weights, so deleting the run deletes it.
    """
    if not _NAME.fullmatch(model):
        return None
    folder = run_folder(home, model)
    return folder / "model.onnx" if folder.is_dir() else Path(home) / EXPORTS_FOLDER / f"{model}.onnx"


def _is_own_copy(path: Path, model: str, meta: dict[str, Any]) -> bool:
    """Say whether the metadata read from `path` marks it as `model`'s current copy."""
    if meta.get("model_code") != model_code_digest() or "input_spec" not in meta:
        return False
    if path.parent.parent.name == RUNS_FOLDER:  # a run's copy: of this run, written after its weights
        weights = path.parent / WEIGHTS_FILE
        return meta.get("run_id") == model and weights.is_file() and path.stat().st_mtime >= weights.stat().st_mtime
    return meta.get("pretrained") == model


class OnnxPredictor:
    """A model's ONNX copy in an onnxruntime session with the input form it expects; same answers as Predictor."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import onnxruntime as ort  # imported late: `load` returns None where it is missing

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: its notes about unused initialisers are not the user's business
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.metadata: dict[str, Any] = json.loads(self.session.get_modelmeta().custom_metadata_map[METADATA_KEY])
        self.spec = InputSpec.from_dict(self.metadata["input_spec"])
        self.name = str(self.metadata.get("name", ""))
        self._input = self.session.get_inputs()[0].name

    @classmethod
    def load(cls, home: str | os.PathLike[str], model: str) -> OnnxPredictor | None:
        """Return the predictor of `model`'s current ONNX copy under `home`, or None when there is none (no copy,
        an outdated one, or no onnxruntime installed)."""
        path = onnx_copy_path(home, model)
        if path is None or not path.is_file():
            return None
        try:
            predictor = cls(path)
        except Exception:
            return None
        return predictor if _is_own_copy(path, model, predictor.metadata) else None

    @property
    def classes(self) -> tuple[str, ...]:
        return self.spec.classes

    def probabilities(self, image: Image.Image) -> np.ndarray:
        """Return the probability of every class for one image."""
        logits = self.session.run(None, {self._input: prepare_array(image, self.spec)})[0][0].astype(np.float32)
        e = np.exp(logits - logits.max())
        return e / e.sum()  # (classes,)

    def classify(self, image: Image.Image | str | os.PathLike[str], top_k: int = 5) -> Classification:
        """Return the top_k classes, most probable first, and how long the model took; `image` may be a file's path."""
        return classify_with(self.probabilities, self.classes, image, top_k)

    def predict(self, image: Image.Image | str | os.PathLike[str], top_k: int = 5) -> list[Prediction]:
        """Return the top_k classes, most probable first (`image` may be a file's path)."""
        return self.classify(image, top_k).predictions
