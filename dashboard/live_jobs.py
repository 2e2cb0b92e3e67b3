"""One live view of a training, wherever it runs: a progress line, how it ended, then its loss and accuracy curves.

The Train page and the Tour draw this server's jobs with `job_view`; runs that another process trains into
the same run folder (the command line, torchrun, another machine) are drawn by `training_view` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import streamlit as st

from core import JobManager, JobSnapshot, LightboxError
from core.memory import hand_back
from dashboard.charts import CURVE_TITLES, SPLITS_CAPTION, curves_figures
from dashboard.presenter import show_chart
from dashboard.text import plain, sentence


def training_view(
    text: str,
    label: str,
    rows: Sequence[Mapping[str, float]],
    *,
    key: str,
    progress: float | None = None,
    height: int = 360,
    outcome: Callable[[], None] | None = None,
) -> None:
    """Draw one training: `text` on a progress bar (a caption without `progress`), `outcome`, then its curves."""
    if progress is None:
        st.caption(text)
    else:
        st.progress(progress, text=text)
    if outcome is not None:
        outcome()
    if rows:
        show_curves({label: list(rows)}, key=key, height=height)


def show_curves(histories: Mapping[str, Sequence[Mapping[str, float]]], *, key: str, height: int = 360) -> None:
    """Draw the loss and accuracy charts in two columns: side by side, or one above the other on a phone."""
    for column, fig, metric in zip(st.columns(2), curves_figures(histories, height), CURVE_TITLES, strict=True):
        show_chart(fig, container=column, key=f"{key}_{metric}")
    st.caption(SPLITS_CAPTION)


def status_line(snap: JobSnapshot) -> str:
    """Return where a job stands: its place in line, preparing, or its epoch and batch and latest accuracy."""
    row = snap.history[-1] if snap.history else None
    acc = f" · validation accuracy {row['val_accuracy']:.1%}" if row else ""
    if snap.status == "queued":
        return f"Waiting: number {snap.queue_position} in line, starts when a running job ends."
    if snap.status == "starting":
        return "Preparing data and model..."
    if _never_ran(snap):
        return "Nothing was trained or recorded."
    return f"Epoch {max(snap.epoch, 1)} of {snap.epochs} · batch {snap.batch}/{snap.batches}{acc}"


def _never_ran(snap: JobSnapshot) -> bool:
    """Say whether a job failed before its run was recorded (its settings, its data or the memory it needs)."""
    return snap.status == "failed" and snap.run_id is None


def _stop_or_outcome(jobs: JobManager, snap: JobSnapshot) -> None:
    """A Stop button while the job is queued or running; afterwards, how it ended."""
    if snap.active:
        st.button(
            "Stop",
            icon=":material/stop:",
            key=f"stop_{snap.job_id}",
            on_click=jobs.stop,
            args=(snap.job_id,),
            help="Leaves the queue; no run is recorded."
            if snap.status == "queued"
            else "Ends training after the current batch; the run is kept.",
        )
    elif snap.status == "finished":
        st.success(f"Finished: {_run_named(jobs, snap)} is saved.", icon=":material/check_circle:")
    elif snap.status == "stopped":
        stopped = f"Stopped: {_run_named(jobs, snap)} is saved as it stood."
        st.warning(snap.error or stopped, icon=":material/stop:")
    elif snap.status == "cancelled":
        st.info("Cancelled before it started: nothing was trained or recorded.", icon=":material/block:")
    else:
        _failure(snap)


def _run_named(jobs: JobManager, snap: JobSnapshot) -> str:
    """Return "'cnn on digits' (run 2026...)": the run's name as people read it, its id to look it up."""
    try:
        name = jobs.store.get_run(snap.run_id).name
    except LightboxError:  # deleted meanwhile (a private visitor's sweep, say)
        return f"run {snap.run_id}"
    return f"'{plain(name)}' (run {snap.run_id})"


def _failure(snap: JobSnapshot) -> None:
    if snap.status == "failed":
        st.error(f"Training failed: {sentence(snap.error)}", icon=":material/error:")


def job_view(
    jobs: JobManager, snap: JobSnapshot, *, label: str, key: str, height: int = 360, controls: bool = True
) -> None:
    """Draw one of this server's jobs; `controls` adds its Stop button and says how it ended (else only a failure)."""
    outcome = (lambda: _stop_or_outcome(jobs, snap)) if controls else (lambda: _failure(snap))
    progress = None if _never_ran(snap) else snap.progress
    training_view(status_line(snap), label, snap.history, key=key, progress=progress, height=height, outcome=outcome)


def _page_job(jobs: JobManager, snap: JobSnapshot) -> None:
    job_view(jobs, snap, label=snap.config.name or "this run", key=f"curves_{snap.job_id}")


@st.fragment(run_every=1.0)
def _live_job(jobs: JobManager, job_id: str) -> None:
    snap = jobs.snapshot(job_id)
    _page_job(jobs, snap)
    hand_back()  # a fragment run: the whole-page tidy-up (dashboard.app) does not follow it
    if not snap.active:
        st.rerun(scope="app")  # refresh the runs table once the job ends


def page_job(jobs: JobManager, owner: str, key: str, name: str | None = None) -> str | None:
    """Return the job a page shows, kept at session key `key`: the one it started, else the workspace's newest job
    still training (named `name`, if given), adopted so that its end stays on screen: a reload mid-talk is a new
    session in the same workspace, and its job's Stop and outcome vanished with the old session."""
    job_id = st.session_state.get(key)
    if job_id in jobs.jobs:
        return job_id
    training = [s for s in jobs.snapshots(owner=owner) if s.active and (name is None or s.config.name == name)]
    if training:
        st.session_state[key] = training[0].job_id
        return training[0].job_id
    return None


def session_jobs_ui(jobs: JobManager, owner: str, job_id: str | None) -> None:
    """Show this session's jobs: those queued or running (live) and `job_id`, the last one it started."""
    mine = [s for s in jobs.snapshots(owner=owner) if s.active or s.job_id == job_id]  # only this session's
    if mine:
        st.subheader("Current run")
    for snapshot in mine:
        if snapshot.active:
            _live_job(jobs, snapshot.job_id)
        else:
            _page_job(jobs, snapshot)


def others_busy_ui(jobs: JobManager, owner: str) -> None:
    """Say how many other visitors' jobs this server is running or holding in line (the Train page's 2-second
    watch draws it, so it follows jobs that start or end while the page is open)."""
    others = [s for s in jobs.snapshots() if s.active and s.owner != owner]
    if others:
        busy = sum(s.status != "queued" for s in others)
        waiting = f", {len(others) - busy} waiting" if busy < len(others) else ""
        jobs_are = f"{busy} other training job is" if busy == 1 else f"{busy} other training jobs are"
        # the showcase runs a private server trains at its first start are the server's: no visitor is there
        whose = (
            " (the server's own showcase runs, trained once at its start)"
            if all(s.owner is None for s in others)
            else ""
        )
        st.caption(
            f"Busy: {jobs_are} running{waiting}{whose}. "
            f"This server trains {jobs.max_running} at a time; later ones wait in line."
        )
