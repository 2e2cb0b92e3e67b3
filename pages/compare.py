"""Compare: runs side by side: curves, cost against accuracy, mistakes, two-model tests and ensembles."""

from __future__ import annotations

import streamlit as st

from core import RunInfo
from dashboard.compare_views import ensemble_ui, filter_runs_ui, mistakes_ui, pareto_ui, two_models_ui
from dashboard.live_jobs import show_curves
from dashboard.nav import link
from dashboard.resources import get_store
from dashboard.ship import code_ui
from dashboard.tables import runs_column_config, runs_side_by_side, runs_table, show_table
from dashboard.text import plain
from dashboard.widgets import help_box, run_label, user_errors

VIEWS = ("Curves", "Which model?", "Mistakes", "Two models", "Ensemble", "Code")

st.title("Compare")
help_box(
    "Each line is one training run. **Solid** lines are measured on validation images the model never "
    "trained on; **dashed** lines on the training images. The better model reaches higher validation "
    "accuracy, ideally sooner, while being small and fast. **Which model?** plots accuracy against speed; "
    "**Mistakes** shows the images a model gets wrong and where it looked; **Two models** tests whether "
    "one is really better than another; **Ensemble** lets several models vote; **Code** shows a plain "
    "PyTorch script that trains a run again."
)

with user_errors():
    store = get_store()
    runs = [r for r in store.list_runs() if r.metrics.get("epochs_completed") or "val_accuracy" in r.metrics]  # int8
if not runs:
    st.info(
        "No finished runs to compare yet. Train a model or two on the **Train** page first.", icon=":material/info:"
    )
    link("train", "Go to Train")
    st.stop()

shown = filter_runs_ui(runs)
if not shown:
    st.info("No run matches these filters: loosen one to see runs again.", icon=":material/filter_alt_off:")
    st.stop()
show_table(
    runs_table(shown),
    hide_index=True,
    column_config=runs_column_config(),
    key="compare_table",
    height=min(400, 38 + 35 * len(shown)),
)
st.caption("Click a column header to sort. Pick the runs to look at closely below.")
by_id = {r.id: r for r in shown}
newest = shown[0].dataset if shown else None  # runs of one dataset compare; across datasets they mislead
kept = [rid for rid in st.session_state.get("compare_runs", []) if rid in by_id]  # a filter may drop some
st.session_state["compare_runs"] = kept or [r.id for r in shown if r.dataset == newest][:3]
chosen = st.multiselect("Runs", list(by_id), format_func=lambda rid: run_label(by_id[rid]), key="compare_runs")
if not chosen:
    st.info("Pick one or more runs above.", icon=":material/info:")
    st.stop()
selected = [by_id[rid] for rid in chosen]

view = st.segmented_control("View", VIEWS, default=VIEWS[0], key="compare_view") or VIEWS[0]
if view == "Curves":
    labels = {r.id: f"{r.name} ({r.id[-4:]})" for r in selected}
    show_curves({labels[r.id]: store.history(r.id) for r in selected}, key="compare_curves", height=420)
    show_table(runs_side_by_side(selected, [labels[r.id] for r in selected]), hide_index=True)

    def top(r: RunInfo) -> float:  # an int8 copy has no epochs: its one accuracy
        return r.metrics.get("best_val_accuracy", r.metrics.get("val_accuracy", 0.0))

    best = max(selected, key=top)
    when = f"at epoch {best.metrics['best_epoch']}" if "best_epoch" in best.metrics else "its weights as kept"
    st.caption(f"Highest validation accuracy: **{plain(best.name)}** ({top(best):.2%}, {when}).")
elif view == "Which model?":
    pareto_ui(store, selected)
elif view == "Mistakes":
    mistakes_ui(selected)
elif view == "Two models":
    two_models_ui(selected)
elif view == "Ensemble":
    ensemble_ui(selected)
else:
    code_ui(by_id[st.selectbox("Run", chosen, format_func=lambda rid: run_label(by_id[rid]), key="code_run")], True)
