"""The only home of st.cache_resource / st.cache_data: objects shared by every session of the server."""

from __future__ import annotations

import streamlit as st
from PIL import Image

from core import (
    PRETRAINED,
    JobManager,
    LightboxError,
    Predictor,
    RunStore,
    decode_image,
    default_home,
    fit_image,
    network_available,
)


@st.cache_resource(show_spinner=False)
def _store(home: str) -> RunStore:
    return RunStore(home)


@st.cache_resource(show_spinner=False)
def _jobs(home: str) -> JobManager:
    return JobManager(_store(home))


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
    return _jobs(str(default_home()))


@st.cache_resource(show_spinner="Loading the pretrained model...")
def _pretrained(name: str) -> Predictor:
    return Predictor.pretrained(name)


def get_predictor(model: str) -> Predictor:
    """Return a loaded model: a built-in pretrained one, or a run's (reloaded when its weights change)."""
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
