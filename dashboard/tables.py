"""pandas tables of runs for st.dataframe."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from core import RunInfo


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
                "val loss": m.get("val_loss"),
                "epochs": m.get("epochs_completed"),
                "train time (s)": m.get("train_seconds"),
                "images/s": m.get("images_per_second"),
                "parameters": r.params,
                "optimizer": t.optimizer,
                "learning rate": t.lr,
                "batch size": t.batch_size,
                "seed": t.seed,
                "device": r.device,
                "created": pd.Timestamp(r.created, unit="s"),
                "run id": r.id,
            }
        )
    return pd.DataFrame(rows)


_FORMATS = {
    "val accuracy": "{:.2%}",
    "best val accuracy": "{:.2%}",
    "val loss": "{:.4f}",
    "epochs": "{:.0f}",
    "train time (s)": "{:.1f}",
    "images/s": "{:,.0f}",
    "parameters": "{:,.0f}",
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
        "val accuracy": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
        "best val accuracy": number(format="percent"),
        "val loss": number(format="%.4f"),
        "train time (s)": number(format="%.1f"),
        "images/s": number(format="localized"),
        "parameters": number(format="localized"),
        "learning rate": number(format="%g"),
        "created": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm"),
    }
