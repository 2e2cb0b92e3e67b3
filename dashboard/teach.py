"""The Teach page's working set: images per class, kept in the session until they are trained on."""

from __future__ import annotations

from collections.abc import Iterator

import streamlit as st
from PIL import Image

from dashboard.resources import thumbnail

_SAMPLES = "teach_samples"  # dict: class name -> list of image file bytes, in the order added
_UPLOAD_ROUND = "teach_upload_round"  # bumped to give every uploader a fresh, empty key


def samples() -> dict[str, list[bytes]]:
    """Return this session's classes and their images (two empty classes to start)."""
    return st.session_state.setdefault(_SAMPLES, {"Class 1": [], "Class 2": []})


def uploader_key(name: str) -> str:
    """Return the current key of a class's uploader."""
    return f"teach_upload_{name}_{st.session_state.get(_UPLOAD_ROUND, 0)}"


def add_class(key: str) -> None:
    """Add the class named in text input `key`, if new and not blank, and clear the input."""
    name = st.session_state.get(key, "").strip()[:40]
    if name and name not in samples():
        samples()[name] = []
    st.session_state[key] = ""


def remove_class(name: str) -> None:
    samples().pop(name, None)


def add_snapshot(camera_key: str, target_key: str) -> None:
    """Add the webcam photo just taken to the class chosen in `target_key`."""
    photo, target = st.session_state.get(camera_key), st.session_state.get(target_key)
    if photo is not None and target in samples():
        samples()[target].append(photo.getvalue())


def add_uploads(name: str) -> None:
    """Add the files just uploaded for a class, then reset every uploader."""
    files = st.session_state.get(uploader_key(name)) or []
    samples()[name].extend(f.getvalue() for f in files)
    st.session_state[_UPLOAD_ROUND] = st.session_state.get(_UPLOAD_ROUND, 0) + 1


def remove_sample(name: str, index: int) -> None:
    if 0 <= index < len(samples().get(name, [])):
        del samples()[name][index]


def thumbnails(files: list[bytes]) -> Iterator[Image.Image | None]:
    """Yield a small square picture per file (None for one that is not an image), decoded once per file."""
    for data in files:
        yield thumbnail(data)
