"""The visitor's workspace in private mode: kept alive while the tab is open, swept when gone, taken home as a zip."""

from __future__ import annotations

import time

import streamlit as st

from core import default_home
from core.workspaces import Workspaces, showcase_configs, workspace_bundle
from dashboard.resources import get_jobs, get_store, is_private, session_owner
from dashboard.sweep import sweep_workspaces

TOUCH_EVERY = 60.0  # seconds between two "still here" notes of one session


def _touch(force: bool = False) -> None:
    """Note that this visitor is here (at most once a minute per session)."""
    now = time.time()
    if force or now - st.session_state.get("lightbox_seen", 0.0) >= TOUCH_EVERY:
        Workspaces(default_home()).touch(session_owner(), now)
        st.session_state["lightbox_seen"] = now


@st.fragment(run_every=TOUCH_EVERY)
def _heartbeat() -> None:
    """Keep an open but idle tab's workspace alive: this reruns only itself, once a minute."""
    _touch(force=True)


SHOWCASE = "showcase"  # what the warm-up line calls the showcase runs while they train


@st.cache_resource(show_spinner=False)
def _showcase_jobs(home: str) -> list[str]:
    """The showcase training jobs started over `home` (filled once, by _showcase).

    Kept apart from the job manager on purpose: asking it means importing torch, and a first page drawn while the
    warm-up imports torch would wait for that (a second visitor on a cold server)."""
    return []


@st.cache_resource(show_spinner=False)
def _showcase(home: str) -> None:
    """Train the server's showcase runs once, in the background, if this home has none yet."""
    jobs = get_jobs()
    have = {r.name for r in jobs.store.list_runs() if r.status == "finished" and r.owner == "server"}
    _showcase_jobs(home).extend(jobs.start(config) for config in showcase_configs() if config.name not in have)


def start_showcase() -> None:
    """In private mode, train the showcase runs once per server; called after a page is drawn (torch loads here)."""
    if is_private():
        _showcase(str(default_home()))


def showcase_training() -> bool:
    """Say whether the showcase runs are still training (a fresh private server's first seconds)."""
    started = _showcase_jobs(str(default_home()))
    jobs = get_jobs() if started else None
    return jobs is not None and any(j in jobs.jobs and jobs.snapshot(j).active for j in started)


def keep_work_ui() -> None:
    """Offer the visitor's runs as one .zip of run bundles, built when clicked."""
    store = get_store()
    mine = any(r.owner == store.owner for r in store.list_runs())
    st.sidebar.download_button(
        "Keep your work",
        data=lambda: workspace_bundle(store),
        file_name="lightbox-my-runs.zip",
        mime="application/zip",
        icon=":material/download:",
        on_click="ignore",
        key="keep_work",
        disabled=not mine,  # an empty .zip, and no word why, before
        help="One .zip with a bundle of each of your runs; restore one on Train (Keep or ship a run). Datasets you "
        "imported are not in it: keep your own zips of them." + ("" if mine else " You have no runs yet."),
    )


def workspace_ui() -> None:
    """Tie the tab to its workspace; in private mode also note the visitor, sweep gone ones, offer a download."""
    session_owner()  # puts ?ws=... in the URL on every page after the first run, so a reload finds the workspace
    if not is_private():
        return
    _touch()
    sweep_workspaces()
    _heartbeat()
    keep_work_ui()
