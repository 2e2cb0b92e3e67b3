"""pandas tables of runs for st.dataframe."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

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
