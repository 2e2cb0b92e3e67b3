"""The only home of st.cache_resource / st.cache_data: objects shared by every session of the server.

`import core` is free (its names load on first use), so this module imports no torch: the first page and
the sidebar draw before torch loads. Models load through core's single-flight caches (`core.warm`), which
the warm-up thread shares: a visitor who asks while a model is loading waits on that load, under a spinner.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import streamlit as st

import core

if TYPE_CHECKING:
    from PIL import Image


@st.cache_resource(show_spinner=False)
def _store(home: str) -> core.RunStore:
    return core.RunStore(home)


@st.cache_resource(show_spinner=False)
def _jobs(home: str) -> core.JobManager:
    return core.JobManager(_store(home))  # at most LIGHTBOX_MAX_JOBS train at once; the rest queue


@st.cache_resource(show_spinner=False)
def server_threads() -> int:
    """Cap torch's threads once per server (all cores but one), so training leaves a core for the pages."""
    return core.cap_threads()


def session_owner() -> str:
    """Return this browser session's id: the jobs it starts are its own to watch and stop."""
    return st.session_state.setdefault("lightbox_owner", uuid.uuid4().hex)


@st.cache_data(ttl=60, show_spinner=False)
def network_online() -> bool:
    """Say whether downloads can work now (checked at most once a minute)."""
    return core.network_available()


def get_store() -> core.RunStore:
    """Return the run store under $LIGHTBOX_HOME (one per folder, shared by all sessions)."""
    return _store(str(core.default_home()))


def get_jobs() -> core.JobManager:
    """Return the background job manager of this server process."""
    server_threads()
    return _jobs(str(core.default_home()))


def get_predictor(model: str) -> core.Predictor:
    """Return a loaded model: a built-in pretrained one, or a run's (reloaded when its weights change).

    Loaded once per server however many visitors ask at once; while it loads, the visitor sees why they wait.
    """
    server_threads()
    store = None if model in core.PRETRAINED else get_store()
    if core.predictor_ready(model, store):
        return core.shared_pretrained(model) if store is None else core.shared_predictor(store, model)
    what = "the pretrained model" if store is None else "the model"
    with st.spinner(f"Loading {what} (once per server: a few seconds, then every visitor gets it at once)..."):
        return core.shared_pretrained(model) if store is None else core.shared_predictor(store, model)


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
def warmup() -> core.Warmup:
    """Return this server's warm-up of the demo's model and datasets (not started: see start_warmup)."""
    return core.Warmup(core.demo_items(), prepare=lambda: core.cap_threads())  # torch loads in its thread


def start_warmup() -> None:
    """Start the warm-up once per server (later calls do nothing): call it once a first page is on screen."""
    warmup().start()
