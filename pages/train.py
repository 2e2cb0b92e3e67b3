"""Train: choose data, model and settings; train in the background with live curves; keep every run."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import JobSnapshot, RunConfig
from dashboard.charts import curves_figure
from dashboard.resources import get_jobs, get_store
from dashboard.tables import runs_column_config, runs_frame
from dashboard.training_tools import layer_groups_ui, lr_finder_ui, schedule_preview_ui
from dashboard.widgets import dataset_ui, explain, model_ui, train_settings_ui, user_errors

st.title("Train")
explain(
    "Training shows the network a **batch** of images, measures how wrong it is (the **loss**) and nudges "
    "every weight to be a little less wrong. One pass over all images is an **epoch**. The *validation* "
    "images are held back and never trained on: their accuracy tells you how well the model does on "
    "pictures it has not seen. If training accuracy keeps rising while validation falls, it is memorising."
)

with user_errors():
    store, jobs = get_store(), get_jobs()

with st.container(border=True):
    left, right = st.columns(2)
    with left:
        data_config = dataset_ui("train")
        model_config = model_ui("train")
        name = st.text_input("Run name (optional)", key="train_name", max_chars=80)
    with right:
        train_config = train_settings_ui("train")
    config = RunConfig(data=data_config, model=model_config, train=train_config, name=name.strip())
    layer_groups_ui(config)
    schedule_preview_ui(config)
    lr_finder_ui(config, lr_key="train_lr")
    if st.button("Start training", type="primary", icon=":material/play_arrow:"):
        st.session_state["train_job"] = jobs.start(config)


def _status_line(snap: JobSnapshot) -> str:
    row = snap.history[-1] if snap.history else None
    acc = f" · validation accuracy {row['val_accuracy']:.1%}" if row else ""
    if snap.status == "starting":
        return "Preparing data and model..."
    return f"Epoch {max(snap.epoch, 1)} of {snap.epochs} · batch {snap.batch}/{snap.batches}{acc}"


def _show_job(snap: JobSnapshot) -> None:
    st.progress(snap.progress, text=_status_line(snap))
    if snap.active:
        st.button(
            "Stop",
            icon=":material/stop:",
            key=f"stop_{snap.job_id}",
            on_click=jobs.stop,
            args=(snap.job_id,),
            help="Ends training after the current batch; the run is kept.",
        )
    elif snap.status == "finished":
        st.success(f"Finished: run {snap.run_id} is saved.", icon=":material/check_circle:")
    elif snap.status == "stopped":
        st.warning(f"Stopped: run {snap.run_id} is saved with the epochs it completed.", icon=":material/stop:")
    else:
        st.error(f"Training failed: {snap.error}", icon=":material/error:")
    if snap.history:
        st.plotly_chart(
            curves_figure({snap.config.name or "this run": list(snap.history)}), key=f"curves_{snap.job_id}"
        )


@st.fragment(run_every=1.0)
def _live_job(job_id: str) -> None:
    snap = jobs.snapshot(job_id)
    _show_job(snap)
    if not snap.active:
        st.rerun(scope="app")  # refresh the runs table once the job ends


job_id = st.session_state.get("train_job")
if job_id in jobs.jobs:
    st.subheader("Current run")
    snapshot = jobs.snapshot(job_id)
    if snapshot.active:
        _live_job(job_id)
    else:
        _show_job(snapshot)

others = [s for s in jobs.snapshots() if s.active and s.job_id != job_id]
if others:
    st.caption(
        f"{len(others)} other training job(s) running on this server: "
        + ", ".join(s.config.name or s.run_id or "starting" for s in others)
    )

st.subheader("Runs")
runs = store.list_runs()
if not runs:
    st.info("No runs yet. Choose settings above and press **Start training**.", icon=":material/info:")
    st.stop()
st.dataframe(runs_frame(runs), hide_index=True, column_config=runs_column_config())
failed = [r for r in runs if r.status == "failed" and r.error]
if failed:
    with st.expander(f"Why {len(failed)} run(s) failed"):
        st.dataframe(pd.DataFrame({"run": [r.id for r in failed], "error": [r.error for r in failed]}), hide_index=True)
