"""Write runs as TensorBoard event files: scalars per epoch, the hyper-parameters, the confusion matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from core.errors import LightboxError
from core.runs import RunInfo, RunStore

SCALARS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr", "images_per_second")
_CELL = 28  # pixels per confusion-matrix cell


def confusion_image(matrix: list[list[int]], classes: list[str]) -> np.ndarray:
    """Draw a confusion matrix (true class rows, predicted columns) with its counts as an (H, W, 3) image."""
    counts = np.asarray(matrix, dtype=np.float64)  # (K, K)
    k = len(counts)
    shade = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)  # share of each true class
    margin = 8 + 7 * max((len(c) for c in classes), default=1)
    image = Image.new("RGB", (margin + k * _CELL, margin + k * _CELL), "white")
    draw = ImageDraw.Draw(image)
    for i in range(k):
        draw.text((2, margin + i * _CELL + 8), classes[i][:12], fill="black")  # rows: true class
        draw.text((margin + i * _CELL + 2, 2), classes[i][:3], fill="black")  # columns: predicted
        for j in range(k):
            level = int(255 * (1 - shade[i, j]))
            box = (margin + j * _CELL, margin + i * _CELL, margin + (j + 1) * _CELL - 1, margin + (i + 1) * _CELL - 1)
            draw.rectangle(box, fill=(level, level, 255))
            draw.text((box[0] + 4, box[1] + 8), str(int(counts[i, j])), fill="black" if level > 120 else "white")
    return np.asarray(image)


def _hparams(run: RunInfo) -> dict[str, Any]:
    """Return a run's settings as flat TensorBoard hyper-parameters (numbers and strings)."""
    config = run.config.to_dict()
    flat = {f"{group}/{k}": v for group in ("data", "model", "train") for k, v in config[group].items()}
    return {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in flat.items()}


def write_run(store: RunStore, run: RunInfo, out: Path) -> Path:
    """Write one run's events under out/<run id>; return that folder."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise LightboxError("TensorBoard export needs the tensorboard package: pip install tensorboard") from exc
    folder = out / run.id
    with SummaryWriter(str(folder)) as writer:
        for row in store.history(run.id):
            for name in SCALARS:
                if name in row:
                    writer.add_scalar(name, row[name], int(row["epoch"]))
        final = {f"final/{k}": float(v) for k, v in run.metrics.items() if k in SCALARS[:4] and isinstance(v, float)}
        writer.add_hparams(_hparams(run), final or {"final/val_accuracy": float("nan")}, run_name=".")
        matrix = run.metrics.get("confusion_matrix")
        classes = [str(c) for c in (run.input_spec or {}).get("classes", [])]
        if matrix and len(classes) == len(matrix):
            writer.add_image("confusion_matrix", confusion_image(matrix, classes), dataformats="HWC")
        writer.add_text("run", f"{run.name} ({run.status}); model {run.model} on {run.dataset}")
    return folder


def write_tensorboard(store: RunStore, run_ids: list[str], out: str | Path) -> list[Path]:
    """Write TensorBoard event files for runs, one folder each under `out`; return the folders."""
    out = Path(out)
    runs = [store.get_run(run_id) for run_id in run_ids]  # every id checked before anything is written
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LightboxError(f"Cannot create the folder '{out}' ({exc.strerror or exc}); choose another --out.") from exc
    return [write_run(store, run, out) for run in runs]


__all__ = ["confusion_image", "write_tensorboard"]
