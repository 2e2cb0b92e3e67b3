"""The only home of st.cache_resource / st.cache_data: objects shared by every session of the server."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import streamlit as st
from PIL import Image

from core import (
    PRETRAINED,
    DuplicateReport,
    ImageDataset,
    JobManager,
    LightboxError,
    Predictor,
    Projection,
    RunStore,
    ValidationPredictions,
    Warmup,
    cap_threads,
    decode_image,
    default_home,
    find_duplicates,
    fit_image,
    network_available,
    predict_validation,
    project,
    shared_pretrained,
    validation_set,
    warm_up,
)
from core.data.registry import forget_user_datasets
from core.data.user import UserDatasetInfo, list_user_datasets
from core.sharing import Limits, is_workspace, new_workspace, sharing_mode
from core.workspaces import Workspaces

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE_PARAM = "ws"  # the query parameter that ties a browser tab to its workspace in private mode


@st.cache_resource(show_spinner=False)
def _store(home: str) -> RunStore:
    return RunStore(home)


@st.cache_resource(show_spinner=False)
def _jobs(home: str, private: bool) -> JobManager:
    return JobManager(_store(home), private=private)  # at most LIGHTBOX_MAX_JOBS train at once; the rest queue


def sharing() -> str:
    """Return the sharing mode: LIGHTBOX_SHARING from the environment or Streamlit secrets, else the default."""
    setting = os.environ.get("LIGHTBOX_SHARING")
    if setting is None:
        try:
            setting = st.secrets.get("LIGHTBOX_SHARING")
        except Exception:  # no secrets file at all: Streamlit raises its own error type
            setting = None
    return sharing_mode(setting, ROOT)


def is_private() -> bool:
    """Say whether this server keeps each visitor's work to themselves (a public link)."""
    return sharing() == "private"


@st.cache_resource(show_spinner=False)
def server_threads() -> int:
    """Cap torch's threads once per server (all cores but one), so training leaves a core for the pages."""
    return cap_threads()


def session_owner() -> str:
    """Return this visitor's workspace id: the jobs it starts and, in private mode, everything it makes.

    In private mode the id rides in the URL (?ws=...), so a reload of the same tab finds the same
    workspace; a missing or malformed token gets a new, random one.
    """
    owner = st.session_state.get("lightbox_owner")
    if owner is None:
        token = st.query_params.get(WORKSPACE_PARAM) if is_private() else None
        owner = token if is_workspace(token) else new_workspace()
        st.session_state["lightbox_owner"] = owner
    if is_private() and st.query_params.get(WORKSPACE_PARAM) != owner:
        st.query_params[WORKSPACE_PARAM] = owner  # a page switch dropped it: put it back
    return owner


def workspace() -> str | None:
    """Return the workspace whose things this session sees and makes: a visitor's in private mode, else None."""
    return session_owner() if is_private() else None


@st.cache_resource(show_spinner="Loading the model...", max_entries=4)
def _predictor(home: str, run_id: str, updated: float) -> Predictor:
    return Predictor.from_run(_store(home), run_id)


@st.cache_data(ttl=60, show_spinner=False)
def network_online() -> bool:
    """Say whether downloads can work now (checked at most once a minute)."""
    return network_available()


def get_store() -> RunStore:
    """Return the run store under $LIGHTBOX_HOME: all of it when shared, this visitor's view when private."""
    store = _store(str(default_home()))
    return store.scoped(session_owner()) if is_private() else store


def get_jobs() -> JobManager:
    """Return the background job manager of this server process."""
    server_threads()
    return _jobs(str(default_home()), is_private())


def user_datasets() -> list[UserDatasetInfo]:
    """Return the imported datasets this session may use: all of the server's, and in private mode its own."""
    return list_user_datasets(workspace())


def check_room() -> None:
    """In private mode, raise LimitError (saying what to do) when this visitor's workspace is full."""
    if is_private():
        limits = get_jobs().limits or Limits.from_env()
        Workspaces(default_home()).check_disk(session_owner(), limits.disk_mb)


class _Sweeper:
    """Once a minute at most, per server, in a background thread: delete the workspaces of visitors long gone."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last = 0.0  # 0: sweep on the first call, i.e. at server start
        self.thread: threading.Thread | None = None

    def due(self, every: float = 60.0) -> bool:
        with self.lock:
            busy = self.thread is not None and self.thread.is_alive()
            if busy or (self.last and time.monotonic() - self.last < every):
                return False
            self.last = time.monotonic()
            return True


@st.cache_resource(show_spinner=False)
def _sweeper(home: str) -> _Sweeper:
    return _Sweeper()


def forget_cached() -> None:
    """Drop every cached model, dataset, prediction and picture (after a sweep deleted some workspaces)."""
    forget_user_datasets()
    for cache in (_predictor, _validation_predictions, _validation_samples, _projection, _duplicates, thumbnail):
        cache.clear()


def _sweep(home: str, ttl: float, keep: set[str], jobs: JobManager) -> None:
    gone = Workspaces(home).sweep(ttl, keep=keep)
    for ws in gone:
        jobs.forget(ws)
    if gone:
        forget_cached()


def sweep_workspaces() -> threading.Thread | None:
    """In private mode, start removing the workspaces idle past LIGHTBOX_WORKSPACE_TTL (at most once a minute).

    The sweep runs in its own thread, so a page (the first after a restart, say) never waits for it.
    """
    home = str(default_home())
    sweeper = _sweeper(home)
    if not is_private() or not sweeper.due():
        return None
    jobs = get_jobs()
    keep = {s.owner for s in jobs.snapshots() if s.active and s.owner} | {session_owner()}  # training: kept
    ttl = (jobs.limits or Limits.from_env()).ttl
    sweeper.thread = threading.Thread(target=_sweep, args=(home, ttl, keep, jobs), name="lightbox-sweep", daemon=True)
    sweeper.thread.start()
    return sweeper.thread


@st.cache_resource(show_spinner="Loading the pretrained model...")
def _pretrained(name: str) -> Predictor:
    return shared_pretrained(name)  # the copy the warm-up thread may have built already


def get_predictor(model: str) -> Predictor:
    """Return a loaded model: a built-in pretrained one, or a run's (reloaded when its weights change)."""
    server_threads()
    if model in PRETRAINED:
        return _pretrained(model)
    store = get_store()
    return _predictor(str(store.home), model, store.get_run(model).updated)


@st.cache_data(max_entries=1000, show_spinner=False)
def thumbnail(data: bytes, size: int = 72) -> Image.Image | None:
    """Return a small square picture of an image file, or None when it is not an image (shown as such)."""
    try:
        return fit_image(decode_image(data), size)
    except LightboxError:
        return None


@st.cache_data(max_entries=16, show_spinner="Running the model over its validation images...")
def _validation_predictions(home: str, run_id: str, updated: float) -> ValidationPredictions:
    return predict_validation(_store(home), run_id)


def validation_predictions(run_id: str) -> ValidationPredictions:
    """Return what a run's model says about each of its validation images (recomputed when it changes)."""
    store = get_store()
    return _validation_predictions(str(store.home), run_id, store.get_run(run_id).updated)


@st.cache_data(max_entries=8, show_spinner=False)
def _projection(fingerprint: str, method: str, _dataset: ImageDataset) -> Projection:
    return project(_dataset, method)


def dataset_projection(dataset: ImageDataset, method: str) -> Projection:
    """Return a 2-D map of the dataset's images (computed once per dataset and method)."""
    return _projection(dataset.fingerprint(), method, dataset)


@st.cache_data(max_entries=8, show_spinner=False)
def _duplicates(fingerprint: str, val_fraction: float, split_seed: int, _dataset: ImageDataset) -> DuplicateReport:
    return find_duplicates(*_dataset.split(val_fraction, split_seed))


def dataset_duplicates(dataset: ImageDataset, val_fraction: float, split_seed: int) -> DuplicateReport:
    """Return the validation images that copy a training image, for the split training uses."""
    return _duplicates(dataset.fingerprint(), val_fraction, split_seed, dataset)


@st.cache_data(max_entries=8, show_spinner="Loading the run's validation images...")
def _validation_samples(home: str, run_id: str, updated: float, count: int) -> list[tuple[Image.Image, str]]:
    val = validation_set(_store(home).get_run(run_id))
    return [(val.to_pil(i), val.classes[int(val.labels[i])]) for i in range(min(count, len(val)))]


def validation_samples(run_id: str, count: int = 12) -> list[tuple[Image.Image, str]]:
    """Return the first `count` validation images of a run's dataset, each with its true class."""
    store = get_store()
    return _validation_samples(str(store.home), run_id, store.get_run(run_id).updated, count)


@st.cache_resource(show_spinner=False)
def warmup() -> Warmup:
    """Start loading the demo's model and datasets once per server, in a background thread; return it."""
    server_threads()
    return warm_up()
