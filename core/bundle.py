"""A run as one .zip bundle (settings, history, metrics, weights) to keep elsewhere, and its safe restore.

Restoring trusts nothing in the file: the zip is checked before anything is decompressed, the weights are
loaded as tensors only (a pickle with code is refused), and every tensor's shape must fit the model the
bundle's own settings build. Only then is the run written, all of it or none of it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import torch

from core.config import RunConfig
from core.errors import BundleError, WeightsError
from core.models.registry import MODELS, build_model
from core.prepare import InputSpec
from core.runs import STATUSES, RunInfo, RunStore, atomic_write_bytes, load_tensors
from core.version import code_version

__all__ = ["bundle_bytes", "bundle_file_name", "restore_bundle"]

BUNDLE_FORMAT = "lightbox-run-bundle"
BUNDLE_VERSION = 1
JSON_MEMBERS = ("config.json", "input_spec.json", "history.json", "metrics.json", "run.json")
MEMBERS = ("manifest.json", *JSON_MEMBERS, "weights.pt")
_RUN_FIELDS = ("id", "name", "created", "updated", "status", "params", "fingerprint", "code_version", "device", "error")
_NOT_A_BUNDLE = "It is not a Lightbox run bundle; download the run again with 'Run bundle' or `python -m core bundle`."


@dataclass(frozen=True)
class BundleLimits:
    """Bounds that keep an uploaded bundle from exhausting memory or hiding a zip bomb."""

    max_weights_bytes: int = 512 << 20  # ResNet-18 weights take 45 MB, EfficientNet-Lite0 14 MB
    max_json_bytes: int = 16 << 20
    max_ratio: float = 100.0  # weights barely compress; JSON rarely beyond 20x
    ratio_floor_bytes: int = 16 << 20  # below this, any ratio is harmless
    max_image_side: int = 1024
    max_classes: int = 10_000


def bundle_file_name(run: RunInfo) -> str:
    """Return a file name for a run's bundle."""
    return f"lightbox-run-{run.id}.zip"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, indent=1).encode()


def _shareable(config: RunConfig) -> RunConfig:
    """Return the config without the workspace id of its dataset's owner: a bundle may be passed on."""
    if config.data.owner is None:
        return config
    return replace(config, data=replace(config.data, owner="workspace"))  # restored into the restorer's own


def bundle_bytes(store: RunStore, run_id: str) -> bytes:
    """Return a run as one .zip: config, input spec, history, metrics, run info, weights and a manifest."""
    run = store.get_run(run_id)
    state_dict, meta = store.load_weights(run_id)
    spec = meta.get("input_spec") or run.input_spec
    weights = io.BytesIO()
    torch.save({"state_dict": state_dict, "meta": {**meta, "input_spec": spec}}, weights)
    files = {
        "config.json": _dumps(_shareable(run.config).to_dict()),
        "input_spec.json": _dumps(spec),
        "history.json": _dumps(store.history(run_id)),
        "metrics.json": _dumps(run.metrics),
        "run.json": _dumps({name: getattr(run, name) for name in _RUN_FIELDS}),
        "weights.pt": weights.getvalue(),
    }
    manifest = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "code_version": code_version(),
        "created": time.time(),
        "run_id": run.id,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in {"manifest.json": _dumps(manifest), **files}.items():
            zf.writestr(name, data)
    return buf.getvalue()


def write_bundle(store: RunStore, run_id: str, out: str | os.PathLike[str]) -> Path:
    """Write a run's bundle to `out` (a file, or a folder to put it in) atomically and return its path."""
    path = Path(out)
    if path.is_dir():
        path = path / bundle_file_name(store.get_run(run_id))
    if not path.parent.is_dir():
        raise BundleError(f"The folder '{path.parent}' does not exist; create it or choose another --out.")
    data = bundle_bytes(store, run_id)
    atomic_write_bytes(path, lambda f: f.write(data))
    return path


def _unsafe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]


def _check_entries(infos: list[zipfile.ZipInfo], limits: BundleLimits) -> None:
    """Refuse unsafe, unexpected, duplicate, encrypted or oversized members before reading any."""
    names = [info.filename for info in infos]
    for name in names:
        if _unsafe_name(name):
            raise BundleError(f"The bundle holds a file named '{name}' that points outside the bundle; refused.")
        if name not in MEMBERS:
            raise BundleError(f"The bundle holds an unexpected file '{name}'. {_NOT_A_BUNDLE}")
    if len(set(names)) != len(names):
        raise BundleError(f"The bundle holds the same file twice. {_NOT_A_BUNDLE}")
    missing = [name for name in MEMBERS if name not in names]
    if missing:
        raise BundleError(f"The bundle lacks {', '.join(missing)}. {_NOT_A_BUNDLE}")
    for info in infos:
        limit = limits.max_weights_bytes if info.filename == "weights.pt" else limits.max_json_bytes
        if info.file_size > limit:
            raise BundleError(f"The bundle's {info.filename} is {info.file_size / 2**20:,.0f} MiB, over the limit.")
        if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise BundleError("The bundle is password-protected or unusually compressed; download it again.")
    total, packed = sum(i.file_size for i in infos), sum(i.compress_size for i in infos)
    if total > limits.ratio_floor_bytes and total > limits.max_ratio * max(packed, 1):
        raise BundleError("The bundle unpacks to far more than its size, like a zip bomb; refused.")


def read_bundle(source: bytes | str | os.PathLike[str] | BinaryIO, limits: BundleLimits) -> dict[str, bytes]:
    """Return the bundle's files by name, checked against its zip entries and manifest hashes."""
    if isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
        folder = Path(source).is_dir()
        raise BundleError(
            f"'{source}' is a folder; give a bundle's .zip file." if folder else f"There is no file '{source}'."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as zf:
            infos = zf.infolist()
            _check_entries(infos, limits)
            files = {info.filename: zf.read(info) for info in infos}  # sizes checked; zipfile checks each CRC
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise BundleError(f"The file is damaged or not a .zip. {_NOT_A_BUNDLE}") from exc  # not zipfile's words
    manifest = _json(files, "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(_NOT_A_BUNDLE)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > BUNDLE_VERSION:
        raise BundleError(f"The bundle was made by a newer Lightbox (format {version}); update Lightbox to open it.")
    hashes = manifest.get("files")
    hashes = hashes if isinstance(hashes, dict) else {}  # a crafted manifest: every file then fails its check
    for name in MEMBERS[1:]:
        if hashes.get(name) != hashlib.sha256(files[name]).hexdigest():
            raise BundleError(f"The bundle's {name} was changed or damaged after it was made; refused.")
    return files


def _json(files: dict[str, bytes], name: str) -> Any:
    try:
        return json.loads(files[name])
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BundleError(f"The bundle's {name} is not readable JSON. {_NOT_A_BUNDLE}") from exc


def _check_spec(spec: InputSpec, limits: BundleLimits) -> None:
    """Refuse input sizes no Lightbox run has, before they size a model's layers."""
    sides_ok = all(1 <= side <= limits.max_image_side for side in (spec.height, spec.width))
    stats_ok = len(spec.mean) == len(spec.std) == spec.channels and all(s > 0 for s in spec.std)
    resize = spec.extra.get("resize", spec.height)  # Predictor divides by it: a 0 or a word would break every answer
    sides_ok = sides_ok and isinstance(resize, (int, float)) and spec.height <= resize <= 4 * limits.max_image_side
    if spec.channels not in (1, 3) or not (sides_ok and stats_ok) or not 1 <= len(spec.classes) <= limits.max_classes:
        raise BundleError(
            f"The bundle describes {spec.channels}-channel {spec.height}x{spec.width} images in "
            f"{len(spec.classes)} classes, which Lightbox cannot build a model for."
        )


def _load_weights(data: bytes) -> dict[str, torch.Tensor]:
    """Load the bundle's weights as tensors and plain values only; refuse anything that carries code."""
    try:
        payload = load_tensors(io.BytesIO(data))
    except Exception as exc:  # torch raises several types for unsafe or corrupt files
        if "weights only" in str(exc).lower() or "unsupported global" in str(exc).lower():
            raise WeightsError(
                "The bundle's weights.pt holds program code, not just numbers: opening it could run that code "
                "on this computer, so it was refused. Only restore bundles made by Lightbox."
            ) from exc
        raise WeightsError(f"The bundle's weights.pt cannot be read ({type(exc).__name__}); it is damaged.") from exc
    state = payload.get("state_dict") if isinstance(payload, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, (torch.Tensor, torch.dtype)) for v in state.values()):
        raise WeightsError("The bundle's weights.pt is not a Lightbox checkpoint.")
    return state


def check_weights(
    state: dict[str, torch.Tensor], config: RunConfig, spec: InputSpec, scheme: str | None = None
) -> None:
    """Check every tensor against the model the config builds (int8: by `scheme`); name the first misfit."""
    if config.model.quantization == "int8":
        from core.quantize import int8_state_dict

        expected = int8_state_dict(config.model, spec, scheme)
    else:
        expected = build_model(config.model, spec).state_dict()
    for key, want in expected.items():
        if key not in state:
            raise WeightsError(f"The bundle's weights lack the tensor '{key}' that a {config.model.name} needs.")
        if not isinstance(want, torch.Tensor) or not isinstance(state[key], torch.Tensor):
            if state[key] != want:  # an int8 model's dtype entries
                raise WeightsError(f"The bundle's weights do not fit its model: '{key}' is {state[key]}, not {want}.")
        elif tuple(state[key].shape) != tuple(want.shape):
            raise WeightsError(
                f"The bundle's weights do not fit its model: tensor '{key}' has shape {tuple(state[key].shape)}, "
                f"the {config.model.name} model for these images needs {tuple(want.shape)}."
            )
    extra = [key for key in state if key not in expected]
    if extra:
        raise WeightsError(f"The bundle's weights hold a tensor '{extra[0]}' that a {config.model.name} does not have.")


def _parse(files: dict[str, bytes], limits: BundleLimits) -> tuple[RunInfo, list[dict[str, Any]]]:
    """Turn the bundle's JSON files into a RunInfo and history rows, or explain what is wrong."""
    config_d, spec_d, history, metrics, run_d = (_json(files, name) for name in JSON_MEMBERS)
    try:
        config, spec = RunConfig.from_dict(config_d), InputSpec.from_dict(spec_d)
        if not isinstance(spec_d["classes"], list):
            raise TypeError("the classes are not a list")
        spec = replace(
            spec,
            classes=tuple(str(c) for c in spec.classes),
            mean=tuple(float(v) for v in spec.mean),
            std=tuple(float(v) for v in spec.std),
        )
        rows_ok = isinstance(history, list) and all(isinstance(r, dict) and "epoch" in r for r in history)
        if not (rows_ok and isinstance(metrics, dict) and isinstance(run_d, dict)):
            raise TypeError("history, metrics or run info has the wrong shape")
        status = run_d.get("status") if run_d.get("status") in STATUSES else "interrupted"
        info = RunInfo(
            id=str(run_d.get("id", "")),
            name=str(run_d.get("name") or config.name or "restored run")[:200],
            created=float(run_d.get("created") or time.time()),
            updated=time.time(),
            status="interrupted" if status == "running" else status,  # its training process is not here
            config=config,
            input_spec=spec.to_dict(),
            metrics=metrics,
            params=int(run_d["params"]) if run_d.get("params") is not None else None,
            **{k: str(run_d[k]) if run_d.get(k) is not None else None for k in _RUN_FIELDS[6:]},
        )
        rows = [{**r, "epoch": int(r["epoch"])} for r in history]
        if config.model.name not in MODELS and config.model.name != "imagenet_lite0":  # the int8 built-in model
            raise BundleError(f"The bundle holds a '{config.model.name}' model, which this Lightbox does not know.")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"The bundle's settings are damaged ({exc}). {_NOT_A_BUNDLE}") from exc
    _check_spec(spec, limits)
    return info, rows


RESTORED = " (restored)"


def restore_bundle(
    store: RunStore, source: bytes | str | os.PathLike[str] | BinaryIO, limits: BundleLimits | None = None
) -> RunInfo:
    """Check a bundle completely, then add its run to the store (under a new id if its id is taken)."""
    limits = limits or BundleLimits()
    files = read_bundle(source, limits)
    info, rows = _parse(files, limits)
    state = _load_weights(files["weights.pt"])
    spec = InputSpec.from_dict(info.input_spec or {})
    scheme = None
    if info.config.model.quantization == "int8":
        from core.quantize import saved_scheme

        scheme = saved_scheme(info.metrics.get("quantization"))
    check_weights(state, info.config, spec, scheme)
    meta = {"model": info.config.model.to_dict(), "input_spec": spec.to_dict()}  # what was checked, nothing else
    if scheme is not None:
        from core.quantize import int8_meta

        meta["int8"] = int8_meta(str(info.metrics.get("int8_of", "")), scheme)
    if not info.name.endswith(RESTORED):  # told apart from its original in every list
        info = replace(info, name=info.name + RESTORED)
    data = replace(info.config.data, owner=store.viewer if info.config.data.owner else None)
    info = replace(info, config=replace(info.config, data=data))  # its dataset, if imported, is looked up here
    run_id = store.import_run(info, rows, {"state_dict": state, "meta": meta})
    return store.get_run(run_id)
