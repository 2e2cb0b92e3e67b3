"""Runs that another process trains into the shared run store (the CLI, torchrun, another machine), watched live."""

from __future__ import annotations

import time

import streamlit as st

from core import JobManager, RunInfo, RunStore
from dashboard.live_jobs import others_busy_ui, training_view
from dashboard.text import plain


def runs_elsewhere(store: RunStore, jobs: JobManager) -> list[RunInfo]:
    """Return the runs recorded as running that no job of this server is training."""
    ours = {s.run_id for s in jobs.snapshots() if s.run_id}
    return [r for r in store.list_runs("running") if r.id not in ours]


def _run_caption(run: RunInfo, epochs_done: int) -> str:
    train = run.config.train
    since = max(0, round(time.time() - run.updated))
    return (
        f"Epoch {epochs_done} of {train.epochs} · {run.device or 'unknown device'} · {train.precision} · "
        f"on {run.host or 'an unknown machine'} (process {run.pid}) · last news {since} s ago"
    )


@st.fragment(run_every=2)
def running_elsewhere_ui(store: RunStore, jobs: JobManager, seen: tuple[str, ...], owner: str) -> None:
    """Say what else trains (other visitors' jobs on this server) and draw the curves of runs trained elsewhere,
    read again from the store every 2 seconds: one timer for both, as each timer on a page with a file picker
    risks an upload (dashboard/warm.py).

    `seen` are the runs the page found; when one starts or ends, the whole page reruns so it and the
    runs table show it. With none running this draws nothing and only watches.
    """
    others_busy_ui(jobs, owner)
    runs = runs_elsewhere(store, jobs)
    if set(seen) != {r.id for r in runs}:
        st.rerun(scope="app")
    if not runs:
        return
    st.subheader("Running elsewhere")
    st.caption(
        "Trained by another process that shares this server's run folder: the command line, torchrun, "
        "or another machine with the folder mounted. The curves update every 2 seconds."
    )
    for run in runs:
        rows = store.history(run.id)
        st.markdown(f"**{plain(run.name)}** · `{run.id}`")
        training_view(_run_caption(run, len(rows)), run.name, rows, key=f"elsewhere_{run.id}")
        if not rows:
            st.caption("Preparing: waiting for the first epoch to finish...")
