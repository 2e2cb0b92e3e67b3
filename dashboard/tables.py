"""pandas tables of runs for st.dataframe."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from core import RunInfo


def _device_text(run: RunInfo) -> str | None:
    """Return where a run trained, with the process count of a torchrun job ("cuda:0 × 8")."""
    world = run.metrics.get("world_size", 1)
    return f"{run.device} × {world}" if run.device and isinstance(world, int) and world > 1 else run.device


def runs_frame(runs: Sequence[RunInfo]) -> pd.DataFrame:
    """One row per run: what produced it and how it did."""
    rows = []
    for r in runs:
        t, m = r.config.train, r.metrics
        rows.append(
            {
                "name": r.name,
                "status": r.status,
                "dataset": Path(r.dataset).name,
                "model": r.model,
                "val accuracy": m.get("val_accuracy"),
                "best val accuracy": m.get("best_val_accuracy"),
                "best epoch": m.get("best_epoch"),
                "val loss": m.get("val_loss"),
                "epochs": m.get("epochs_completed"),
                "train time (s)": m.get("train_seconds"),
                "images/s": round(m["images_per_second"]) if m.get("images_per_second") else None,
                "parameters": r.params,
                "latency (ms)": m.get("latency_ms"),
                "size (MB)": m.get("size_mb"),
                "optimizer": t.optimizer,
                "learning rate": t.lr,
                "batch size": t.batch_size,
                "seed": t.seed,
                "device": _device_text(r),
                "precision": t.precision,
                "created": pd.Timestamp(r.created, unit="s"),
                "run id": r.id,
            }
        )
    frame = pd.DataFrame(rows)
    # A run stopped in its first epoch has no metrics yet: NaN (an empty cell), never the word "None"
    numbers = [c for c in _FORMATS if c in frame]
    frame[numbers] = frame[numbers].apply(pd.to_numeric, errors="coerce")
    if "device" in frame:
        frame["device"] = frame["device"].fillna("-")
    return frame


_FORMATS = {
    "val accuracy": "{:.2%}",
    "best val accuracy": "{:.2%}",
    "val loss": "{:.4f}",
    "epochs": "{:.0f}",
    "train time (s)": "{:.1f}",
    "images/s": "{:,.0f}",
    "parameters": "{:,.0f}",
    "best epoch": "{:.0f}",
    "latency (ms)": "{:.2f}",
    "size (MB)": "{:.2f}",
    "learning rate": "{:g}",
    "batch size": "{:.0f}",
    "seed": "{:.0f}",
}


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the table as readable text: percentages, thousands separators, short dates."""
    out = frame.copy().astype(object)
    for column, fmt in _FORMATS.items():
        if column in out:
            out[column] = [fmt.format(v) if pd.notna(v) else "-" for v in frame[column]]
    if "created" in out:
        out["created"] = [t.strftime("%d %b %Y %H:%M") for t in frame["created"]]
    return out.fillna("-").astype(str)


def runs_column_config() -> dict[str, object]:
    """Column formats for runs_frame() in st.dataframe, keeping the numbers sortable."""
    number = st.column_config.NumberColumn
    return {
        "val accuracy": st.column_config.ProgressColumn(
            format="percent",
            min_value=0,
            max_value=1,
            help="Share of validation images (never trained on) the final model gets right",
        ),
        "best val accuracy": number(format="percent", help="The highest validation accuracy of any epoch"),
        "val loss": number(
            format="%.4f", help="How wrong the model is on validation images, on average: lower is better"
        ),
        "epochs": number(help="Passes through all the training images"),
        "train time (s)": number(format="%.1f"),
        "images/s": number(format="localized", help="Training speed: images processed per second"),
        "parameters": number(format="localized", help="Numbers the network learns: a measure of its size"),
        "best epoch": number(format="%d", help="The epoch with the highest validation accuracy"),
        "latency (ms)": number(format="%.2f", help="Milliseconds to classify one image on this server's CPU"),
        "size (MB)": number(format="%.2f", help="Size of the saved weights"),
        "learning rate": number(format="%g", help="How big a step the model takes each time it corrects itself"),
        "batch size": number(help="Images the model looks at before each correction"),
        "created": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm"),
        "device": st.column_config.TextColumn(help="Where it trained; × N: N processes under torchrun"),
        "precision": st.column_config.TextColumn(help="fp32: full precision; bf16, fp16: mixed precision"),
    }
