"""The only home of st.cache_resource / st.cache_data: objects shared by every session of the server.

`import core` is free (its names load on first use), so this module imports no torch: the first page and
the sidebar draw before torch loads. Models load through core's single-flight caches (`core.warm`), which
the warm-up thread shares: a visitor who asks while a model is loading waits on that load, under a spinner.
"""

from __future__ import annotations

import gc
import hashlib
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

import core
from core.memory import hand_back, limit_malloc_arenas, map_big_blocks
from core.sharing import Limits, is_workspace, new_workspace, sharing_mode
from core.workspaces import Workspaces
from dashboard.reruns import set_in_url
from dashboard.teach_store import ExampleStore

if TYPE_CHECKING:
    from PIL import Image

    from core.data.folder import ImportLimits
    from core.data.user import UserDatasetInfo

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE_PARAM = "ws"  # the query parameter that ties a browser tab to its workspace in private mode


@st.cache_resource(show_spinner=False)
def _store(home: str) -> core.RunStore:
    return core.RunStore(home)


@st.cache_resource(show_spinner=False)
def _jobs(home: str, private: bool) -> core.JobManager:
    return core.JobManager(_store(home), private=private)  # at most LIGHTBOX_MAX_JOBS train at once; the rest queue


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
def lean_server() -> bool:
    """Once per server, before the sessions' threads allocate: two malloc arenas, big blocks mapped apart."""
    arenas = limit_malloc_arenas()
    return map_big_blocks() and arenas


def tidy_after_run() -> None:
    """After a whole-page run: collect garbage, then hand the heap's free pages back (`core.memory.hand_back`).

    Streamlit's full collection after every run is off (.streamlit/config.toml), so fragment runs (camera frames,
    timers) leave garbage to Python's generational collector.
    """
    gc.collect()
    hand_back()


@st.cache_resource(show_spinner=False)
def server_threads() -> int:
    """Cap torch's threads once per server (all cores but one), so training leaves a core for the pages."""
    return core.cap_threads()


def browser_key() -> str:
    """Return a key of this browser, the same across its reloads and tabs ("" where unknown, as in tests).

    Streamlit's XSRF cookie holds one secret per browser, sent masked with a new mask on each page load
    ("2|mask|masked secret|time", Tornado's format); the secret itself is kept only as a hash.
    """
    cookie = st.context.cookies.get("_streamlit_xsrf", "")
    parts = cookie.split("|") if isinstance(cookie, str) else []  # AppTest has no browser, hence no cookie
    try:
        mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
    except (IndexError, ValueError):
        return ""
    if not mask:
        return ""
    secret = bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked))
    return hashlib.sha256(secret).hexdigest()


def _claim(workspace: str, browser: str) -> bool:
    """Tie a workspace to this browser (see Workspaces.claim); True where the home is unusable (the page says so)."""
    try:
        return Workspaces(str(core.default_home())).claim(workspace, browser)
    except (OSError, sqlite3.Error):
        return True


def session_owner() -> str:
    """Return this visitor's workspace id: its jobs and Teach examples and, in private mode, everything it makes.

    The id rides in the URL (?ws=...), put there by the session's first call after its first run (anything a
    visitor makes asks for its owner here), so a reload of the same tab (mid-talk, say) finds the same workspace;
    a missing or malformed token, or one another browser opened first (a copied link), gets a new, random one.
    """
    owner = st.session_state.get("lightbox_owner")
    if owner is None:
        token, browser = st.query_params.get(WORKSPACE_PARAM), browser_key()
        if is_workspace(token) and _claim(token, browser):
            owner = token
        else:
            if is_workspace(token):  # a link copied from another browser: its workspace stays its visitor's
                st.toast("This link came from another browser: you start with a workspace of your own.")
            owner = new_workspace()
            _claim(owner, browser)
        st.session_state["lightbox_owner"] = owner
    if st.query_params.get(WORKSPACE_PARAM) != owner:
        set_in_url(WORKSPACE_PARAM, owner)  # new, or a page switch dropped it: put it back
    return owner


def workspace() -> str | None:
    """Return the workspace whose things this session sees and makes: a visitor's in private mode, else None."""
    return session_owner() if is_private() else None


@st.cache_data(ttl=60, show_spinner=False)
def network_online() -> bool:
    """Say whether downloads can work now (checked at most once a minute)."""
    return core.network_available()


def get_store() -> core.RunStore:
    """Return the run store under $LIGHTBOX_HOME: all of it when shared, this visitor's view when private."""
    store = _store(str(core.default_home()))
    return store.scoped(session_owner()) if is_private() else store


def get_jobs() -> core.JobManager:
    """Return the background job manager of this server process."""
    server_threads()
    return _jobs(str(core.default_home()), is_private())


def user_datasets() -> list[UserDatasetInfo]:
    """Return the imported datasets this session may use: all of the server's, and in private mode its own."""
    from core.data.user import list_user_datasets

    return list_user_datasets(workspace())


def check_room() -> None:
    """In private mode, raise LimitError (saying what to do) when this visitor's workspace is full."""
    if is_private():
        limits = get_jobs().limits or Limits.from_env()
        Workspaces(core.default_home()).check_disk(session_owner(), limits.disk_mb)


def max_epochs() -> int:
    """Return the most epochs the Epochs slider offers: 50, or a private server's fair-use limit if lower (the
    slider went to 50 where a job of more than 30 was refused)."""
    return min(50, (get_jobs().limits or Limits.from_env()).epochs) if is_private() else 50


def import_limits() -> ImportLimits:
    """Return what one import may hold: in private mode, no more than the visitor's workspace has room for
    (checked before an import only, one zip of 4,600 small pictures at 128 px took a 200 MB workspace to 226)."""
    from dataclasses import replace

    from core.data.folder import DEFAULT_LIMITS  # torch: not before the first page is drawn

    if not is_private():
        return DEFAULT_LIMITS
    limit_mb = (get_jobs().limits or Limits.from_env()).disk_mb
    room = int(limit_mb * 1e6) - Workspaces(core.default_home()).disk_bytes(session_owner())
    return replace(DEFAULT_LIMITS, max_tensor_bytes=room, tensor_room="in the room your work here has left")


def forget_cached() -> None:
    """Drop every cached model, dataset, prediction and picture (after a sweep deleted some workspaces)."""
    from core.data.registry import forget_user_datasets
    from core.warm import RUN_MODELS

    forget_user_datasets()
    RUN_MODELS.clear()
    for cache in (_validation_predictions, _validation_samples, _projection, _duplicates, thumbnail):
        cache.clear()


_SETTLED: weakref.WeakSet[object] = weakref.WeakSet()  # per process, as the collector is
_SETTLING = threading.Lock()
THAW_EVERY = 60.0  # seconds: frozen garbage is looked for at most this often
_last_thaw = float("-inf")


def settle_heap(owner: object) -> None:
    """Freeze the objects alive now out of later garbage collections, once per long-lived `owner` (a model).

    The entrypoint collects garbage fully after every whole-page run (dashboard/app.py, as Streamlit's
    `runner.postScriptGC` did after every run). With torch and a model loaded that walks some 400,000 objects,
    about 200 ms of CPU per run. Frozen (`gc.freeze`), the long-lived modules and models are skipped; what runs
    make afterwards is still collected. Frozen objects that became garbage (a closed session's, say) wait for the
    next model to load at least `THAW_EVERY` seconds after the last look: that settling thaws, collects
    everything once, and freezes what lives. A burst of loads (a class opening different runs) walks the whole
    heap once, not once per model: each walk holds the interpreter for 0.1-0.3 s, every visitor waiting.
    """
    global _last_thaw
    with _SETTLING:
        if owner in _SETTLED:
            return
        _SETTLED.add(owner)
        now = time.monotonic()
        if now - _last_thaw >= THAW_EVERY:
            gc.unfreeze()
            _last_thaw = now
        gc.collect()  # what is garbage now goes first, so only live objects are frozen
        gc.freeze()


def get_predictor(model: str) -> core.Predictor:
    """Return a loaded model: a built-in pretrained one, or a run's (reloaded when its weights change).

    Loaded once per server however many visitors ask at once; while it loads, the visitor sees why they wait.
    """
    server_threads()
    store = None if model in core.PRETRAINED else get_store()
    if core.predictor_ready(model, store):
        predictor = core.shared_pretrained(model) if store is None else core.shared_predictor(store, model)
    else:
        what = "the pretrained model" if store is None else "the model"
        with st.spinner(f"Loading {what} (once per server: a few seconds, then every visitor gets it at once)..."):
            predictor = core.shared_pretrained(model) if store is None else core.shared_predictor(store, model)
    settle_heap(predictor)
    return predictor


@st.cache_data(max_entries=1000, show_spinner=False)
def thumbnail(data: bytes, size: int = 72) -> Image.Image | None:
    """Return a small square picture of an image file, or None when it is not an image (shown as such)."""
    try:
        return core.fit_image(core.decode_image(data), size)
    except core.LightboxError:
        return None


@st.cache_data(max_entries=16, show_spinner="Running the model over its validation images...")
def _validation_predictions(home: str, run_id: str, updated: float) -> core.ValidationPredictions:
    return core.predict_validation(_store(home), run_id)


def validation_predictions(run_id: str) -> core.ValidationPredictions:
    """Return what a run's model says about each of its validation images (recomputed when it changes)."""
    store = get_store()
    return _validation_predictions(str(store.home), run_id, store.get_run(run_id).updated)


@st.cache_data(max_entries=8, show_spinner=False)
def _projection(fingerprint: str, method: str, _dataset: core.ImageDataset) -> core.Projection:
    return core.project(_dataset, method)


def dataset_projection(dataset: core.ImageDataset, method: str) -> core.Projection:
    """Return a 2-D map of the dataset's images (computed once per dataset and method)."""
    return _projection(dataset.fingerprint(), method, dataset)


@st.cache_data(max_entries=8, show_spinner=False)
def _duplicates(
    fingerprint: str, val_fraction: float, split_seed: int, _dataset: core.ImageDataset
) -> core.DuplicateReport:
    return core.find_duplicates(*_dataset.split(val_fraction, split_seed))


def dataset_duplicates(dataset: core.ImageDataset, val_fraction: float, split_seed: int) -> core.DuplicateReport:
    """Return the validation images that copy a training image, for the split training uses."""
    return _duplicates(dataset.fingerprint(), val_fraction, split_seed, dataset)


@st.cache_data(max_entries=8, show_spinner="Loading the run's validation images...")
def _validation_samples(home: str, run_id: str, updated: float, count: int) -> list[tuple[Image.Image, str]]:
    val = core.validation_set(_store(home).get_run(run_id))
    return [(val.to_pil(i), val.classes[int(val.labels[i])]) for i in range(min(count, len(val)))]


def validation_samples(run_id: str, count: int = 12) -> list[tuple[Image.Image, str]]:
    """Return the first `count` validation images of a run's dataset, each with its true class."""
    store = get_store()
    return _validation_samples(str(store.home), run_id, store.get_run(run_id).updated, count)


@st.cache_resource(show_spinner=False)
def teach_examples() -> ExampleStore:
    """Return the server's Teach examples, kept per visitor workspace (session_owner) and bounded."""
    return ExampleStore()


@st.cache_resource(show_spinner=False)
def warmup() -> core.Warmup:
    """Return this server's warm-up of the demo's model and datasets (not started: see start_warmup)."""
    return core.Warmup(core.demo_items(), prepare=lambda: core.cap_threads())  # torch loads in its thread


def start_warmup() -> None:
    """Start the warm-up once per server (later calls do nothing): call it once a first page is on screen."""
    warmup().start()
