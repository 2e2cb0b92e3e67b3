"""Ship a run's model as one file other programs can run: a torch.export program (.pt2, today's PyTorch
format), ONNX (any runtime) or TorchScript (the old PyTorch format, deprecated by torch).

Every file takes float images in [0, 1] shaped (B, C, H, W), normalisation included, and return logits
(B, classes). Each carries its classes, input size and mean/std, and is checked after writing: loaded
back, it must give the eager model's outputs on a random batch.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.errors import ExportError, UnknownNameError
from core.home import default_home
from core.inference import PRETRAINED, Predictor
from core.onnx_predictor import EXPORTS_FOLDER, METADATA_KEY, model_code_digest
from core.prepare import InputSpec
from core.runs import RunStore
from core.version import code_version

__all__ = ["EXPORT_FORMATS", "FORMAT_NOTES", "export_bytes", "export_pretrained", "export_run", "read_metadata"]

EXPORT_FORMATS: dict[str, str] = {"pt2": "pt2", "onnx": "onnx", "torchscript": "pt"}  # format -> file extension
FORMAT_NOTES: dict[str, str] = {
    "pt2": "torch.export, today's PyTorch format: torch.export.load(f).module()",
    "onnx": "for onnxruntime: servers, browsers, phones",
    "torchscript": "the old PyTorch format (torch.jit, deprecated)",
}
# Formats whose exporters import torch._dynamo (+ onnx, onnxscript): written in a child process for a server
CHILD_FORMATS = ("pt2", "onnx")
TOLERANCE = 1e-4  # largest allowed difference between exported and eager logits
_CHECK_BATCH = 3  # differs from the traced batch of 2, so a batch size baked in by mistake is caught


def export_metadata(run_name: str, model: str, spec: InputSpec) -> dict[str, Any]:
    """Return what a program needs to feed the exported model: classes, input size, mean/std."""
    return {
        "name": run_name,
        "model": model,
        "classes": list(spec.classes),
        "input_shape": ["batch", spec.channels, spec.height, spec.width],
        "input": "float32 images in [0, 1], (B, C, H, W); normalisation is inside the model",
        "output": "logits (B, classes); softmax gives probabilities",
        "mean": list(spec.mean),
        "std": list(spec.std),
        "dark_background": spec.dark_background,
        "input_spec": spec.to_dict(),  # the whole input form (resizing included): core.onnx_predictor reads it
        "code_version": code_version(),
        "model_code": model_code_digest(),  # the copy counts for `classify` while this code is unchanged
    }


def _export_pt2(model: nn.Module, example: torch.Tensor, meta: dict[str, Any], out: Path) -> None:
    """Export with torch.export (batch dimension dynamic) and save the program with the metadata."""
    batch = torch.export.Dim("batch", min=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
    with open(out, "wb") as f:  # a file, not a path: the archive's folder is torch's 'archive', not our temp name
        torch.export.save(program, f, extra_files={METADATA_KEY: json.dumps(meta)})


def _run_pt2(path: Path, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.export.load(str(path)).module()(torch.from_numpy(x)).numpy()


def _export_torchscript(model: nn.Module, example: torch.Tensor, meta: dict[str, Any], out: Path) -> None:
    """Trace the model on a float example and save it with the metadata as an extra file."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # shape-as-constant tracer notes and torch.jit's deprecation notice
        traced = torch.jit.trace(model, example, check_trace=False)  # checked below, on another batch size
        torch.jit.save(traced, str(out), _extra_files={METADATA_KEY: json.dumps(meta)})


def _run_torchscript(path: Path, x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        loaded = torch.jit.load(str(path), map_location="cpu")
        return loaded(torch.from_numpy(x)).numpy()


def _export_onnx(model: nn.Module, example: torch.Tensor, meta: dict[str, Any], out: Path) -> None:
    """Export through torch.export with a dynamic batch axis, fold constant weights, store the metadata."""
    import onnxscript.optimizer  # imported late: only ONNX export needs it

    batch = torch.export.Dim("batch", min=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model, (example,), dynamo=True, verbose=False, dynamic_shapes={"x": {0: batch}},
            input_names=["images"], output_names=["logits"],
        )  # fmt: skip
    # Fold every weight-only computation (e.g. 'SAME' padding of a conv kernel) into a constant: left
    # unfolded, onnxruntime's own constant folding produces an invalid graph from it.
    onnxscript.optimizer.optimize(program.model, input_size_limit=1 << 30, output_size_limit=1 << 30)
    program.model.metadata_props[METADATA_KEY] = json.dumps(meta)
    program.save(str(out))


def _run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    """Run an ONNX file with onnxruntime when installed, else with onnx's (slower) reference evaluator."""
    try:
        import onnxruntime as ort
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        return np.asarray(ReferenceEvaluator(str(path)).run(None, {"images": x})[0])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"images": x})[0])


_EXPORTERS: dict[str, tuple[Callable[..., None], Callable[[Path, np.ndarray], np.ndarray]]] = {
    "pt2": (_export_pt2, _run_pt2),
    "torchscript": (_export_torchscript, _run_torchscript),
    "onnx": (_export_onnx, _run_onnx),
}


def export_model(model: nn.Module, spec: InputSpec, fmt: str, out: Path, meta: dict[str, Any]) -> Path:
    """Write `model` (taking [0, 1] images) in `fmt` to `out`, then check the file reproduces its logits."""
    if fmt not in EXPORT_FORMATS:
        raise UnknownNameError("export format", fmt, list(EXPORT_FORMATS))
    model = model.float().cpu().eval()
    tmp = out.with_name(f".{out.stem}.{secrets.token_hex(4)}.partial{out.suffix}")  # never half a file at `out`
    try:
        _export_checked(model, spec, fmt, tmp, meta)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _first_line(exc: BaseException) -> str:
    """Return an exception's first line without terminal colours (torch.export's run to pages, in colour)."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def _export_checked(model: nn.Module, spec: InputSpec, fmt: str, out: Path, meta: dict[str, Any]) -> None:
    """Write the file, load it back and compare its logits with the eager model's on another batch size."""
    export, run = _EXPORTERS[fmt]
    noise = torch.Generator().manual_seed(0)  # its own: torch's shared generator belongs to training
    example = torch.rand(2, spec.channels, spec.height, spec.width, generator=noise)  # (B, C, H, W) in [0, 1]
    check = torch.rand(_CHECK_BATCH, spec.channels, spec.height, spec.width, generator=noise)
    try:
        export(model, example, meta, out)
        with torch.no_grad():
            expected = model(check).numpy()  # (B, classes)
        got = run(out, check.numpy())
    except ImportError as exc:
        raise ExportError(
            f"Exporting to {fmt} needs the package '{exc.name}': pip install -r requirements.txt"
        ) from exc
    except Exception as exc:  # the exporters and runtimes raise many types for an operator they cannot express
        raise ExportError(
            f"This model could not be exported to {fmt} ({type(exc).__name__}: {_first_line(exc)}). Try another format."
        ) from exc
    diff = float(np.abs(got - expected).max()) if got.shape == expected.shape else float("inf")
    if not diff <= TOLERANCE:
        raise ExportError(
            f"The exported {fmt} file does not reproduce the model (largest logit difference {diff:.2g}, "
            f"allowed {TOLERANCE:g}), so it was not kept. Try the other format."
        )


def export_run(store: RunStore, run_id: str, fmt: str, out: Path | None = None) -> Path:
    """Export a run's model to `out` (default: next to its weights) and return the file's path."""
    if fmt not in EXPORT_FORMATS:
        raise UnknownNameError("export format", fmt, list(EXPORT_FORMATS))
    run = store.get_run(run_id)
    if run.config.model.quantization == "int8":  # torch.export and ONNX cannot express its quantized layers
        raise ExportError(
            f"An int8 copy ships as a bundle (python -m core bundle {run_id}); .pt2, ONNX and TorchScript files "
            "are written from fp32 runs, such as the one it was made from."
        )
    default = f"model.{EXPORT_FORMATS[fmt]}"
    out = Path(out) if out is not None else store.run_dir(run_id) / default
    if out.is_dir():  # a folder: the file goes inside it, as `cp` does
        out = out / default
    if not out.parent.is_dir():
        raise ExportError(f"The folder '{out.parent}' does not exist; create it or choose another --out.")
    predictor = Predictor.from_run(store, run_id, fast=False)  # the eager model, its weights loaded safely
    meta = {**export_metadata(run.name, run.model, predictor.spec), "run_id": run_id}
    return export_model(predictor.model, predictor.spec, fmt, out, meta)


def export_pretrained(name: str, fmt: str, out: Path | None = None, home: Path | None = None) -> Path:
    """Export a built-in pretrained model (`imagenet`, or torchvision's where their weights are here) to `out`
    (default: exports/NAME.pt2, .onnx or .pt under the home) and return the file's path."""
    if fmt not in EXPORT_FORMATS:
        raise UnknownNameError("export format", fmt, list(EXPORT_FORMATS))
    default = f"{name}.{EXPORT_FORMATS[fmt]}"
    if out is None:
        out = (home if home is not None else default_home()) / EXPORTS_FOLDER / default
        out.parent.mkdir(parents=True, exist_ok=True)
    elif out.is_dir():
        out = out / default
    if not out.parent.is_dir():
        raise ExportError(f"The folder '{out.parent}' does not exist; create it or choose another --out.")
    predictor = Predictor.pretrained(name, fast=False)  # the eager model: prepacked layers do not export
    meta = {**export_metadata(PRETRAINED[name], name, predictor.spec), "pretrained": name}
    return export_model(predictor.model, predictor.spec, fmt, out, meta)


def export_bytes(store: RunStore, run_id: str, fmt: str, *, in_child: bool = False) -> bytes:
    """Return a run's exported model file as bytes, for a browser download.

    `in_child`: write .pt2 and ONNX files in a child process (core.child), as a server does, so their exporters'
    modules never load into it.
    """
    with tempfile.TemporaryDirectory(prefix="lightbox-export-") as tmp:
        out = Path(tmp) / f"model.{EXPORT_FORMATS.get(fmt, 'bin')}"
        if in_child and fmt in CHILD_FORMATS:
            from core.child import run_command

            store.get_run(run_id)  # one this store may see (a visitor's own, or the server's)
            args = ["export", run_id, "--format", fmt, "--out", str(out)]
            run_command(args, store.home, f"Exporting to {fmt}", ExportError, workspace=store.viewer)
        else:
            export_run(store, run_id, fmt, out)
        return out.read_bytes()


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Return the Lightbox metadata stored inside an exported .pt2, TorchScript or ONNX file."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnx  # imported late: only ONNX files need it

        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        return json.loads(props[METADATA_KEY])
    with zipfile.ZipFile(path) as zf:  # .pt2 and TorchScript files are zips; extra files sit under <name>/extra/
        (member,) = [n for n in zf.namelist() if n.endswith(f"/extra/{METADATA_KEY}")]
        return json.loads(zf.read(member))
