"""Tables for st.dataframe, built as Arrow tables without pandas.

Streamlit shows a `pyarrow.Table` as it is; anything else (a list of rows, a dict, a pandas DataFrame) it converts
through pandas, and even for an Arrow table its lazy-loading check imports pandas unless `lazy=False`. pandas
costs a server more than the tables it draws: one small table adds 76 MB of server RSS to a one-title app through
pandas and 29 MB as built here (benchmarks/table_memory.py, side by side). `pa.array()` on Python values imports
pandas too (pyarrow checks for its objects), so the columns are assembled from NumPy buffers. `show_table` draws.

Arrow's buffers come from the C library's malloc, not the mimalloc pool pyarrow starts by default: these tables
are a few kilobytes, and the pool's own arena kept 4 MB more of server RSS for them (`benchmarks/table_memory.py`,
side by side). Set before pyarrow is imported; an `ARROW_DEFAULT_MEMORY_POOL` of the host's own wins.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
import pyarrow as pa
import streamlit as st

from core import RunInfo

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator


def _validity(values: Sequence[object]) -> tuple[pa.Buffer | None, int]:
    """Return Arrow's validity bitmap of a column (None where no value is missing) and its count of missing."""
    valid = np.array([v is not None for v in values], dtype=bool)
    nulls = int(len(values) - valid.sum())
    return (pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None), nulls


def _column(values: Sequence[object]) -> pa.Array:
    """Return one column typed from its values: whole numbers, numbers, true/false, or else text; None and NaN
    (a precision with no prediction to divide by, a diverged loss) are empty."""
    values = [None if isinstance(v, float | np.floating) and v != v else v for v in values]  # NaN != NaN
    present = [v for v in values if v is not None]
    validity, nulls = _validity(values)
    if present and all(isinstance(v, bool | np.bool_) for v in present):
        bits = np.packbits(np.array([bool(v) for v in values]), bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [validity, pa.py_buffer(bits)], null_count=nulls)
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in present):
        numbers = np.array([0 if v is None else v for v in values], dtype=np.int64)
        return pa.Array.from_buffers(pa.int64(), len(values), [validity, pa.py_buffer(numbers)], null_count=nulls)
    if all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in present):
        numbers = np.array([0.0 if v is None else v for v in values], dtype=np.float64)
        return pa.Array.from_buffers(pa.float64(), len(values), [validity, pa.py_buffer(numbers)], null_count=nulls)
    encoded = [b"" if v is None else str(v).encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(values), buffers, null_count=nulls)


def _timestamps(seconds: Sequence[float]) -> pa.Array:
    """Return a column of dates and times from seconds since the epoch (UTC, to the millisecond)."""
    ms = np.array([round(s * 1000) for s in seconds], dtype=np.int64)
    return pa.Array.from_buffers(pa.timestamp("ms"), len(ms), [None, pa.py_buffer(ms)])


def arrow_table(columns: Mapping[str, Sequence[object]]) -> pa.Table:
    """Return a table of these columns (name -> values, each typed from its values; None is an empty cell)."""
    return pa.Table.from_arrays([_column(values) for values in columns.values()], names=list(columns))


def rows_table(rows: Sequence[Mapping[str, object]]) -> pa.Table:
    """Return a table of rows that share their keys (the first row's keys, in its order, are the columns)."""
    names = list(rows[0]) if rows else []
    return arrow_table({name: [row.get(name) for row in rows] for name in names})


def show_table(table: pa.Table, container: DeltaGenerator | None = None, **kwargs: Any) -> None:
    """Draw `table` with st.dataframe (or `container.dataframe`), sent at once: nothing of pandas is imported.

    An empty cell reads "-" (Streamlit writes "None" in it otherwise).
    """
    (container or st).dataframe(table, lazy=False, placeholder="-", **kwargs)


def _device_text(run: RunInfo) -> str:
    """Return where a run trained, with the process count of a torchrun job ("cuda:0 × 8"); "-" if unknown."""
    world = run.metrics.get("world_size", 1)
    if run.device and isinstance(world, int) and world > 1:
        return f"{run.device} × {world}"
    return run.device or "-"


def _number(value: object) -> float | int | None:
    """Return a metric as a number, or None (an empty cell) for one missing, not a number, or NaN (a diverged loss)."""
    number = isinstance(value, int | float) and not isinstance(value, bool) and value == value  # NaN != NaN
    return value if number else None  # type: ignore[return-value]


def _run_row(r: RunInfo) -> dict[str, object]:
    """Return what produced a run and how it did (a run stopped in its first epoch has no metrics: None)."""
    t, m = r.config.train, r.metrics
    speed = _number(m.get("images_per_second"))
    return {
        "name": r.name,
        "status": r.status,
        "dataset": Path(r.dataset).name,
        "model": r.model,
        "val accuracy": _number(m.get("val_accuracy")),
        "best val accuracy": _number(m.get("best_val_accuracy")),
        "best epoch": _number(m.get("best_epoch")),
        "val loss": _number(m.get("val_loss")),
        "epochs": _number(m.get("epochs_completed")),
        "train time (s)": _number(m.get("train_seconds")),
        "images/s": round(speed) if speed else None,
        "parameters": _number(r.params),
        "latency (ms)": _number(m.get("latency_ms")),
        "size (MB)": _number(m.get("size_mb")),
        "optimizer": t.optimizer,
        "learning rate": t.lr,
        "batch size": t.batch_size,
        "seed": t.seed,
        "device": _device_text(r),
        "precision": t.precision,
        "created": r.created,
        "run id": r.id,
    }


def runs_table(runs: Sequence[RunInfo]) -> pa.Table:
    """One row per run: what produced it and how it did; numbers stay numbers, so a click on a header sorts."""
    table = rows_table([_run_row(r) for r in runs])
    if runs:  # dates as dates: the column sorts by time and shows in the reader's format
        table = table.set_column(table.column_names.index("created"), "created", _timestamps([r.created for r in runs]))
    return table


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


def _text(name: str, value: object) -> str:
    """Return one cell as readable text: percentages, thousands separators, short dates; "-" where empty."""
    if value is None:
        return "-"
    if name == "created":
        return time.strftime("%d %b %Y %H:%M", time.gmtime(float(value)))  # type: ignore[arg-type]
    return _FORMATS[name].format(value) if name in _FORMATS else str(value)


def runs_side_by_side(runs: Sequence[RunInfo], labels: Sequence[str]) -> pa.Table:
    """Return the runs as readable text, one column per run (headed by its label), one row per setting or result."""
    rows = [_run_row(r) for r in runs]
    names = [n for n in rows[0] if n not in ("name", "status")] if rows else []
    columns = {label: [_text(n, row[n]) for n in names] for label, row in zip(labels, rows, strict=True)}
    return arrow_table({"": names, **columns})


def runs_column_config() -> dict[str, object]:
    """Column formats for runs_table() in st.dataframe, keeping the numbers sortable."""
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
