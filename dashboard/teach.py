"""The Teach page's working set: images per class, kept in the session until they are trained on."""

from __future__ import annotations

import time
from collections.abc import Iterator

import streamlit as st
from PIL import Image
from streamlit.delta_generator import DeltaGenerator

from core import (
    Callback,
    DataConfig,
    ModelConfig,
    RunConfig,
    RunInfo,
    TrainConfig,
    TrainState,
    dataset_from_samples,
    save_user_dataset,
    train_run,
)
from dashboard.resources import check_room, get_store, thumbnail, workspace
from dashboard.widgets import user_errors

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


class _Progress(Callback):
    """Move a progress bar as the head trains (called in the script's own thread)."""

    def __init__(self, bar: DeltaGenerator) -> None:
        self.bar = bar

    def on_epoch_end(self, state: TrainState) -> None:
        acc = (state.history.last or {}).get("val_accuracy", 0.0)
        self.bar.progress(state.epoch / state.epochs, text=f"Epoch {state.epoch}/{state.epochs} · {acc:.0%} right")


def train(examples: dict[str, list[bytes]], bar: DeltaGenerator) -> tuple[RunInfo, str]:
    """Save the examples as a dataset, train a new head on a frozen pretrained network; return the run and a summary."""
    start = time.perf_counter()
    check_room()  # a private server's disk limit per visitor
    dataset = dataset_from_samples(f"taught-{time.strftime('%Y%m%d-%H%M%S')}", examples)
    save_user_dataset(dataset, owner=workspace())  # a visitor's own in private mode
    config = RunConfig(
        data=DataConfig(name=dataset.name, val_fraction=0.25, owner=workspace()),
        model=ModelConfig("lite0_transfer"),
        train=TrainConfig(epochs=20, batch_size=16, lr=3e-3),
        name=f"taught: {', '.join(dataset.classes)}",
    )
    run = train_run(config, get_store(), [_Progress(bar)])
    skipped = sum(len(files) for files in examples.values()) - len(dataset)
    summary = (
        f"Trained on {len(dataset)} images in {time.perf_counter() - start:.1f} s: "
        f"{run.metrics.get('val_accuracy', 0):.0%} of the held-back examples right. Saved as run {run.id}."
        + (f" {skipped} file(s) that are not images were left out." if skipped else "")
    )
    return run, summary


def train_button(examples: dict[str, list[bytes]], key: str | None = None) -> None:
    """Draw the Train button; on a click, train and keep the run and its summary in the session."""
    if not st.button("Train", type="primary", icon=":material/model_training:", key=key):
        return
    bar = st.progress(0.0, text="Looking at every example once...")
    with user_errors():
        run, summary = train(examples, bar)
    st.session_state["teach_run"], st.session_state["teach_summary"] = run.id, summary
    bar.empty()
