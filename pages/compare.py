"""Compare: runs side by side: curves, settings and final metrics."""

from __future__ import annotations

import streamlit as st

from dashboard.charts import curves_figure
from dashboard.nav import link
from dashboard.resources import get_store
from dashboard.tables import display_frame, runs_frame
from dashboard.widgets import explain, run_label, user_errors

st.title("Compare")
explain(
    "Each line is one training run. **Solid** lines are measured on validation images the model never "
    "trained on; **dashed** lines on the training images. The better model reaches higher validation "
    "accuracy, ideally sooner, with fewer parameters (smaller and faster to use)."
)

with user_errors():
    store = get_store()
    runs = [r for r in store.list_runs() if r.status != "running" or r.metrics]
runs_with_history = {r.id: r for r in runs if r.metrics.get("epochs_completed")}
if not runs_with_history:
    st.info(
        "No finished runs to compare yet. Train a model or two on the **Train** page first.", icon=":material/info:"
    )
    link("train", "Go to Train")
    st.stop()

chosen = st.multiselect(
    "Runs",
    list(runs_with_history),
    default=list(runs_with_history)[:3],
    format_func=lambda rid: run_label(runs_with_history[rid]),
    key="compare_runs",
)
if not chosen:
    st.info("Pick one or more runs above.", icon=":material/info:")
    st.stop()

selected = [runs_with_history[rid] for rid in chosen]
labels = {r.id: f"{r.name} ({r.id[-4:]})" for r in selected}
histories = {labels[r.id]: store.history(r.id) for r in selected}
st.plotly_chart(curves_figure(histories, height=420), key="compare_curves")

table = display_frame(runs_frame(selected).drop(columns=["status"]))
table.index = [labels[r.id] for r in selected]
st.dataframe(table.drop(columns=["name"]).T)
best = max(selected, key=lambda r: r.metrics.get("val_accuracy", 0.0))
st.caption(f"Highest final validation accuracy: **{best.name}** ({best.metrics.get('val_accuracy', 0):.2%}).")
