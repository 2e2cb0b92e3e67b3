"""Train: choose data, model and settings; train in the background with live curves; keep every run."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import JobSnapshot, RunConfig
from dashboard import presenter
from dashboard.keys import TRAIN, setting_key
from dashboard.live_jobs import job_view
from dashboard.remote_runs import running_elsewhere_ui, runs_elsewhere
from dashboard.resources import get_jobs, get_store, is_private, session_owner
from dashboard.ship import restore_ui, ship_ui
from dashboard.tables import runs_column_config, runs_frame
from dashboard.training_tools import layer_groups_ui, lr_finder_ui, schedule_preview_ui
from dashboard.widgets import dataset_ui, help_box, model_ui, run_label, train_settings_ui, user_errors

st.title("Train")
help_box(
    "Training shows the network a **batch** of images, measures how wrong it is (the **loss**) and nudges "
    "every weight to be a little less wrong. One pass over all images is an **epoch**. The *validation* "
    "images are held back and never trained on: their accuracy tells you how well the model does on "
    "pictures it has not seen. If training accuracy keeps rising while validation falls, it is memorising."
)

with user_errors():
    store, jobs = get_store(), get_jobs()
owner = session_owner()

with st.container(border=True):
    left, right = st.columns(2)
    with left:
        data_config = dataset_ui(TRAIN)
        model_config = model_ui(TRAIN)
        name = st.text_input("Run name (optional)", key="train_name", max_chars=80)
    with right:
        train_config = train_settings_ui(TRAIN, data_config.name)
    config = RunConfig(data=data_config, model=model_config, train=train_config, name=name.strip())
    layer_groups_ui(config)
    schedule_preview_ui(config)
    if presenter.advanced_visible():
        lr_finder_ui(config, lr_key=setting_key(TRAIN, "lr"))
    if st.button("Start training", type="primary", icon=":material/play_arrow:"):
        with user_errors():  # a private server's fair-use limit says which and what to do
            st.session_state["train_job"] = jobs.start(config, owner=owner)


def _show_job(snap: JobSnapshot) -> None:
    job_view(jobs, snap, label=snap.config.name or "this run", key=f"curves_{snap.job_id}")


@st.fragment(run_every=1.0)
def _live_job(job_id: str) -> None:
    snap = jobs.snapshot(job_id)
    _show_job(snap)
    if not snap.active:
        st.rerun(scope="app")  # refresh the runs table once the job ends


job_id = st.session_state.get("train_job")
mine = [s for s in jobs.snapshots(owner=owner) if s.active or s.job_id == job_id]  # only this session's
if mine:
    st.subheader("Current run")
for snapshot in mine:
    if snapshot.active:
        _live_job(snapshot.job_id)
    else:
        _show_job(snapshot)

others = [s for s in jobs.snapshots() if s.active and s.owner != owner]
if others:
    busy = sum(s.status != "queued" for s in others)
    waiting = f", {len(others) - busy} waiting" if busy < len(others) else ""
    st.caption(
        f"Busy: {busy} other training job{'' if busy == 1 else 's'} {'is' if busy == 1 else 'are'} running{waiting}. "
        f"This server trains {jobs.max_running} at a time; later ones wait in line."
    )

elsewhere = runs_elsewhere(store, jobs)  # the command line, torchrun or another machine on the same folder
running_elsewhere_ui(store, jobs, tuple(r.id for r in elsewhere))  # also notices runs that start later

st.subheader("Runs")
if is_private():
    st.caption("Your runs are yours alone, with the server's built-in ones; they are deleted a while after you leave.")
else:
    st.caption("Runs are shared: everyone using this server sees and compares the same runs, the team's record.")
runs = store.list_runs()
if not runs:
    st.info("No runs yet. Choose settings above and press **Start training**.", icon=":material/info:")
else:  # no st.stop(): a bundle can still be restored below
    st.dataframe(runs_frame(runs), hide_index=True, column_config=runs_column_config())
failed = [r for r in runs if r.status == "failed" and r.error]
if failed:
    with st.expander(f"Why {len(failed)} run(s) failed"):
        st.dataframe(pd.DataFrame({"run": [r.id for r in failed], "error": [r.error for r in failed]}), hide_index=True)

st.subheader("Keep or ship a run")
st.caption(
    "Streamlit Community Cloud forgets every file when the app restarts, so download a bundle of each run you "
    "want to keep and restore it here later; .pt2 and ONNX files run the model without Lightbox."
)
if runs:
    by_id = {r.id: r for r in runs}
    ship_id = st.selectbox("Run to download", list(by_id), format_func=lambda i: run_label(by_id[i]), key="ship_run")
    ship_ui(store, by_id[ship_id])
restore_ui(store)
