"""Train: choose data, model and settings; train in the background with live curves; keep every run."""

from __future__ import annotations

import streamlit as st

from core import LightboxError, RunConfig
from dashboard import presenter
from dashboard.keys import TRAIN, setting_key
from dashboard.live_jobs import page_job, session_jobs_ui
from dashboard.nav import scroll_here
from dashboard.remote_runs import running_elsewhere_ui, runs_elsewhere
from dashboard.resources import get_jobs, get_store, session_owner
from dashboard.runs_views import keep_or_ship_ui, runs_ui
from dashboard.training_tools import layer_groups_ui, lr_finder_ui, schedule_preview_ui
from dashboard.widgets import dataset_ui, error_box, help_box, model_ui, train_settings_ui, user_errors

NAME_CHARS = 80  # a run's name is cut to this; Streamlit's max_chars would refuse a longer paste whole

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
        name = st.text_input("Run name (optional)", key="train_name").strip()
        if len(name) > NAME_CHARS:
            st.caption(f"The run will be named by its first {NAME_CHARS} characters ({len(name)} typed).")
    with right:
        train_config = train_settings_ui(TRAIN, data_config.name)
    config = RunConfig(data=data_config, model=model_config, train=train_config, name=name[:NAME_CHARS])
    layer_groups_ui(config)
    schedule_preview_ui(config)
    if presenter.advanced_visible():
        lr_finder_ui(config, lr_key=setting_key(TRAIN, "lr"))
    started = None
    if st.button("Start training", type="primary", icon=":material/play_arrow:"):
        try:
            st.session_state["train_job"] = started = jobs.start(config, owner=owner)
        except LightboxError as exc:  # a fair-use limit says which and what to do; the job it names stays below
            error_box(exc)


if started:
    scroll_here(started)  # the live curves come into view
session_jobs_ui(jobs, owner, page_job(jobs, owner, "train_job"))  # a reload mid-run keeps the run's Stop and end
elsewhere = runs_elsewhere(store, jobs)  # the command line, torchrun or another machine on the same folder
running_elsewhere_ui(store, jobs, tuple(r.id for r in elsewhere), owner)  # and other visitors' jobs, as they come

runs = runs_ui(store, training=any(s.active for s in jobs.snapshots(owner=owner)))
keep_or_ship_ui(store, runs)
