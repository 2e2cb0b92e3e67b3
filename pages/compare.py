"""Compare: runs side by side: curves, settings and final metrics."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import per_class_report
from dashboard.charts import confusion_figure, curves_figure
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

st.subheader("Where each model goes wrong")
st.caption(
    "Each square counts validation images of one true class (row) that the model called another class "
    "(column). The diagonal is right; anything off it is a mix-up worth a look."
)
for tab, run in zip(st.tabs([labels[r.id] for r in selected]), selected, strict=True):
    matrix = run.metrics.get("confusion_matrix")
    classes = (run.input_spec or {}).get("classes", [])
    with tab:
        if not matrix or len(matrix) != len(classes):
            st.info("This run has no confusion matrix (it ended before its first evaluation).")
            continue
        left, right = st.columns([3, 2])
        left.plotly_chart(confusion_figure(matrix, classes), key=f"confusion_{run.id}")
        report = per_class_report(matrix)
        right.dataframe(
            pd.DataFrame({"class": classes, **{k: [r[k] for r in report] for k in ("precision", "recall", "support")}}),
            hide_index=True,
            column_config={
                "precision": st.column_config.NumberColumn(
                    format="percent", help="Of those it called X, how many were X"
                ),
                "recall": st.column_config.NumberColumn(format="percent", help="Of the real X, how many it found"),
            },
        )
