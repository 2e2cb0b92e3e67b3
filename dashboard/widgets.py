"""Widget groups: *_ui() functions that draw inputs and return plain values or config objects."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core import (
    AUGMENTATIONS,
    DATASETS,
    MODELS,
    OPTIMIZERS,
    PRETRAINED,
    SCHEDULES,
    DataConfig,
    LightboxError,
    ModelConfig,
    RunInfo,
    TrainConfig,
    UserDatasetInfo,
    available_devices,
    available_pretrained,
    default_train_config,
    download_dataset,
    pretrained_download_mb,
    supported_precisions,
)
from core.sharing import SERVER
from dashboard.keys import setting_key
from dashboard.nav import link
from dashboard.presenter import advanced_visible
from dashboard.resources import get_store, is_private, max_epochs, network_online, user_datasets
from dashboard.text import count, sentence

LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


def nearest_rate(lr: float) -> float:
    """Return the learning-rate choice closest to lr on a log scale."""
    return min(LEARNING_RATES, key=lambda choice: abs(math.log(choice / lr)))


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a LightboxError as a plain message and end the page there, instead of a traceback."""
    try:
        yield
    except LightboxError as exc:
        error_box(exc)
        st.stop()


def error_box(exc: LightboxError) -> None:
    """Show a LightboxError as a plain message (where the page goes on after it)."""
    st.error(sentence(str(exc)), icon=":material/error:")  # messages quote names people typed


def help_box(text: str) -> None:
    """Draw a collapsed 'What am I looking at?' box."""
    with st.expander("What am I looking at?", icon=":material/help:"):
        st.markdown(text)


def _dataset_caption(name: str, user: dict[str, UserDatasetInfo]) -> str:
    if name in DATASETS:
        return DATASETS[name].summary
    info = user[name]
    when = time.strftime("%d %b %Y %H:%M", time.localtime(info.created))
    return f"{info.images:,} of your images, {info.image_size} x {info.image_size} px, imported {when}."


def _whose(info: UserDatasetInfo) -> str:
    return "the server's" if info.owner == SERVER and is_private() else "your"


def dataset_ui(key: str) -> DataConfig:
    """Choose a built-in or imported dataset and, for generated ones, its size; return the DataConfig."""
    user = {d.name: d for d in user_datasets()}  # the server's and, in private mode, this visitor's own
    options = [*DATASETS, *user]
    if st.session_state.get(setting_key(key, "dataset"), options[0]) not in options:  # deleted since the last run
        st.session_state[setting_key(key, "dataset")] = options[0]
    name = st.selectbox(
        "Dataset",
        options,
        key=setting_key(key, "dataset"),
        format_func=lambda n: (
            DATASETS[n].title if n in DATASETS else f"{n} ({_whose(user[n])} images, {len(user[n].classes)} classes)"
        ),
        help="The images the model learns from.",
    )
    st.caption(_dataset_caption(name, user))
    spec = DATASETS.get(name)
    if spec is not None and spec.needs_download():
        _download_ui(name, key)
    image_size = samples = None
    if spec is not None and ("image_size" in spec.options or "samples" in spec.options):
        c1, c2 = st.columns(2)
        st.session_state.setdefault(setting_key(key, "size"), spec.default_image_size)  # defaults in session state:
        st.session_state.setdefault(setting_key(key, "samples"), spec.default_samples)  # keep_settings keeps them
        image_size = c1.select_slider("Image size (pixels)", [16, 24, 32, 48, 64], key=setting_key(key, "size"))
        samples = c2.select_slider("Images", [500, 1000, 2000, 4000, 5000, 10000], key=setting_key(key, "samples"))
    owner = user[name].owner if name in user and user[name].owner != SERVER else None
    return DataConfig(name=name, image_size=image_size, samples=samples, owner=owner)


def _download_ui(name: str, key: str) -> None:
    """Say that a standard dataset is not here yet; offer a Download button with progress when online."""
    spec = DATASETS[name]
    if not network_online():
        st.warning(
            f"{spec.title} is not on this machine yet, and this machine is offline: connect to the internet "
            f"to download it (about {spec.download_mb} MB, once).",
            icon=":material/cloud_off:",
        )
        return
    st.info(f"{spec.title} is not on this machine yet: it needs one download of about {spec.download_mb} MB.")
    if st.button(f"Download {spec.title}", key=setting_key(key, "download"), icon=":material/download:"):
        bar = st.progress(0.0, text="Starting the download...")
        words = {"download": "Downloading", "extract": "Unpacking", "decode": "Decoding the images"}
        shown = [("", -1)]

        def update(done: int, total: int, stage: str) -> None:
            percent = min(done * 100 // max(total, 1), 100)
            if (stage, percent) != shown[0]:  # one redraw per percent, not per network chunk
                shown[0] = (stage, percent)
                amount = f": {done / 1e6:.1f} of {total / 1e6:.1f} MB" if stage == "download" else "..."
                bar.progress(percent / 100, text=words.get(stage, stage) + amount)

        with user_errors():
            download_dataset(name, progress=update)
        bar.empty()
        st.rerun()


def progress_callback(bar: DeltaGenerator, noun: str = "images") -> Callable[[int, int], None]:
    """Return a progress(done, total) callback that moves an st.progress bar once per percent."""
    shown = [-1]

    def update(done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if percent != shown[0]:
            shown[0] = percent
            bar.progress(percent / 100, text=f"{done:,} of {total:,} {noun}")

    return update


def model_ui(key: str) -> ModelConfig:
    """Choose an architecture; return the ModelConfig."""
    st.session_state.setdefault(setting_key(key, "model"), "cnn")
    name = st.selectbox(
        "Model",
        list(MODELS),
        key=setting_key(key, "model"),
        format_func=lambda n: MODELS[n].title,
        help="The network's architecture: how its layers are wired.",
    )
    st.caption(MODELS[name].summary)
    return ModelConfig(name=name)


def _reset_to_defaults(key: str, dataset: str) -> TrainConfig:
    """Return `dataset`'s default settings, and put them in the widgets when the dataset has just changed (each
    dataset starts from what works on it), or in any widget whose value is gone (never set here yet)."""
    d = default_train_config(dataset)
    changed = st.session_state.get(setting_key(key, "defaults_for")) != dataset
    st.session_state[setting_key(key, "defaults_for")] = dataset
    for name in ("epochs", "lr", "batch_size", "optimizer", "schedule", "augment", "seed"):
        widget = setting_key(key, _WIDGETS.get(name, name))
        if changed or widget not in st.session_state:
            st.session_state[widget] = getattr(d, name)
    return d


_WIDGETS = {"batch_size": "batch", "optimizer": "opt"}  # TrainConfig field -> widget key suffix


def train_settings_ui(key: str, dataset: str = "digits") -> TrainConfig:
    """Choose epochs, learning rate, batch size, optimiser, seed and device; return the TrainConfig.

    The widgets start at `dataset`'s defaults (default_train_config, as the command line does) and return
    there whenever another dataset is chosen.
    """
    d = _reset_to_defaults(key, dataset)
    c1, c2 = st.columns(2)
    most = max_epochs()
    if st.session_state.get(setting_key(key, "epochs"), 0) > most:  # a choice from before the limit was known
        st.session_state[setting_key(key, "epochs")] = most
    epochs = c1.slider(
        "Epochs",
        1,
        most,
        key=setting_key(key, "epochs"),
        help="Passes over all training images." + (f" This server trains {most} at most." if most < 50 else ""),
    )
    lr = c2.select_slider(
        "Learning rate",
        LEARNING_RATES,
        key=setting_key(key, "lr"),
        format_func=lambda v: f"{v:g}",
        help="How big a step the optimiser takes after each batch. Too big diverges, too small crawls.",
    )
    c3, c4 = st.columns(2)
    batch = c3.select_slider(
        "Batch size",
        [8, 16, 32, 64, 128, 256],
        key=setting_key(key, "batch"),
        help="Images per optimiser step.",
    )
    optimizer = c4.selectbox(
        "Optimiser",
        list(OPTIMIZERS),
        key=setting_key(key, "opt"),
        format_func=lambda n: {"sgd": "SGD with momentum", "adam": "Adam", "adamw": "AdamW"}.get(n, n),
        help="The rule that turns gradients into weight updates.",
    )
    if not advanced_visible():  # presenter mode: the defaults for the rest, fewer knobs on screen
        return replace(d, epochs=epochs, batch_size=batch, lr=lr, optimizer=optimizer)
    advanced = st.expander("Advanced settings", icon=":material/tune:")
    c5, c6 = advanced.columns(2)
    schedule = c5.selectbox(
        "Learning-rate schedule",
        SCHEDULES,
        key=setting_key(key, "schedule"),
        format_func=lambda n: {"constant": "Constant", "onecycle": "One-cycle"}.get(n, n),
        help="One-cycle warms the rate up to the chosen value, then anneals it to almost zero.",
    )
    augment = c6.selectbox(
        "Augmentation",
        AUGMENTATIONS,
        key=setting_key(key, "augment"),
        format_func=str.capitalize,
        help="Random flips, crops, turns and colour changes of training images: more variety, less memorising.",
    )
    c7, c8, c9 = advanced.columns(3)
    seed = int(
        c7.number_input(
            "Seed", 0, 2**31 - 1, key=setting_key(key, "seed"), help="Same seed, same settings: the same run."
        )
    )
    device = c8.selectbox(
        "Device",
        ["auto", *available_devices()],
        key=setting_key(key, "device"),
        help="Where the arithmetic runs; auto picks a GPU when there is one.",
    )
    precision = _precision_ui(c9, key, device)
    return TrainConfig(
        epochs=epochs,
        batch_size=batch,
        lr=lr,
        optimizer=optimizer,
        seed=seed,
        device=device,
        schedule=schedule,
        augment=augment,
        precision=precision,
    )


def _precision_ui(column: DeltaGenerator, key: str, device: str) -> str:
    """Choose a number format that `device` can train in; return its name."""
    options = supported_precisions(device)
    if st.session_state.get(setting_key(key, "precision"), "fp32") not in options:  # the device changed under it
        st.session_state[setting_key(key, "precision")] = "fp32"
    return column.selectbox(
        "Precision",
        options,
        key=setting_key(key, "precision"),
        format_func=lambda n: {"fp32": "fp32 (full)", "bf16": "bf16 (mixed)", "fp16": "fp16 (mixed)"}.get(n, n),
        help="Mixed precision does most sums with 16-bit numbers: faster on recent chips, nearly as accurate.",
    )


def run_label(run: RunInfo) -> str:
    """Return a short, human label for a run."""
    acc = run.metrics.get("val_accuracy")
    acc_text = f" · {acc:.1%}" if isinstance(acc, float) else ""
    return f"{run.name} · {time.strftime('%d %b %H:%M', time.localtime(run.created))}{acc_text} ({run.status})"


def pretrained_label(name: str) -> str:
    """Return a pretrained model's menu label, saying whether choosing it downloads weights."""
    mb = pretrained_download_mb(name)
    if mb is None:
        return PRETRAINED[name]
    return f"{PRETRAINED[name]} ({'downloaded' if mb == 0 else f'{mb:.0f} MB download, kept after'})"


def trained_model_ui(key: str) -> tuple[str, RunInfo | None]:
    """Choose a pretrained model or a finished run with weights; return its name and run (None if pretrained)."""
    with user_errors():
        store = get_store()
        ended = [r for r in store.list_runs() if r.status in ("finished", "stopped", "interrupted")]
    runs = {r.id: r for r in ended if store.weights_path(r.id).is_file()}
    pretrained = available_pretrained(online=network_online())
    choices = [*pretrained, *runs]
    if len(runs) < len(ended):
        st.caption(f"{count(len(ended) - len(runs), 'run')} without saved weights cannot classify.")
    hidden = [PRETRAINED[n].split(" · ")[0] for n in PRETRAINED if n not in pretrained and n != "imagenet"]
    offline = (  # a tooltip, not a paragraph: being offline is normal on a demo laptop
        f" {', '.join(hidden)} need a one-time download of their ImageNet weights, and this server is offline "
        "right now; they appear here as soon as it can download them."
        if hidden
        else ""
    )
    if not choices:
        st.info("No trained models yet. Train one on the **Train** page, then come back.", icon=":material/info:")
        link("train", "Go to Train")
        st.stop()
    name = st.selectbox(
        "Model",
        choices,
        format_func=lambda c: pretrained_label(c) if c in PRETRAINED else run_label(runs[c]),
        key=setting_key(key, "run"),
        help=f"A built-in network, or one of the runs you trained.{offline}",
    )
    return name, runs.get(name)
