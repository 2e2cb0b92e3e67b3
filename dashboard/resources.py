"""The only home of st.cache_resource / st.cache_data: objects shared by every session of the server."""

from __future__ import annotations

import uuid

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
from dashboard.teach_store import ExampleStore


@st.cache_resource(show_spinner=False)
def _store(home: str) -> RunStore:
    return RunStore(home)


@st.cache_resource(show_spinner=False)
def _jobs(home: str) -> JobManager:
    return JobManager(_store(home))  # at most LIGHTBOX_MAX_JOBS train at once; the rest queue


@st.cache_resource(show_spinner=False)
def server_threads() -> int:
    """Cap torch's threads once per server (all cores but one), so training leaves a core for the pages."""
    return cap_threads()


def session_owner() -> str:
    """Return this browser session's id: the jobs it starts are its own to watch and stop."""
    return st.session_state.setdefault("lightbox_owner", uuid.uuid4().hex)


@st.cache_resource(show_spinner="Loading the model...", max_entries=4)
def _predictor(home: str, run_id: str, updated: float) -> Predictor:
    return Predictor.from_run(_store(home), run_id)


@st.cache_data(ttl=60, show_spinner=False)
def network_online() -> bool:
    """Say whether downloads can work now (checked at most once a minute)."""
    return network_available()


def get_store() -> RunStore:
    """Return the run store under $LIGHTBOX_HOME (one per folder, shared by all sessions)."""
    return _store(str(default_home()))


def get_jobs() -> JobManager:
    """Return the background job manager of this server process."""
    server_threads()
    return _jobs(str(default_home()))


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
def teach_examples() -> ExampleStore:
    """Return the server's Teach examples, kept per visitor workspace (session_owner) and bounded."""
    return ExampleStore()


@st.cache_resource(show_spinner=False)
def warmup() -> Warmup:
    """Start loading the demo's model and datasets once per server, in a background thread; return it."""
    server_threads()
    return warm_up()
