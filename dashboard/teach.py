"""The Teach page's working set: classes of examples kept on the server per visitor, recorded live or uploaded."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from typing import Any

import streamlit as st
from PIL import Image
from streamlit.delta_generator import DeltaGenerator

from core import (
    Callback,
    DataConfig,
    LightboxError,
    ModelConfig,
    RunConfig,
    RunInfo,
    TrainConfig,
    TrainState,
    dataset_from_samples,
    decode_image,
    save_user_dataset,
    train_run,
)
from dashboard import camera, teach_store
from dashboard.keys import TEACH_TARGET
from dashboard.reruns import in_fragment_run, redraw_page
from dashboard.resources import (
    check_room,
    get_predictor,
    get_store,
    session_owner,
    teach_examples,
    thumbnail,
    workspace,
)
from dashboard.text import count, plain, sentence
from dashboard.widgets import user_errors

_UPLOAD_ROUND = "teach_upload_round"  # bumped to give every uploader a fresh, empty key
_NOTICE = "teach_notice"  # a sentence from the last class edit (name taken, blank name ...)
_LAST_RECORD = "teach_last_record"  # when the last held frame was kept: a few per second, not every frame
RECORD_EVERY_S = 0.25


def samples() -> dict[str, list[bytes]]:
    """Return this visitor's classes and their images, kept on the server (two empty classes to start)."""
    return teach_examples().classes(session_owner())


def uploader_key(name: str) -> str:
    """Return the current key of a class's uploader."""
    return f"teach_upload_{name}_{st.session_state.get(_UPLOAD_ROUND, 0)}"


def add_class(key: str) -> None:
    """Add the class named in text input `key` (its form's Enter or button; the form then clears it)."""
    st.session_state[_NOTICE] = teach_store.add_class(samples(), st.session_state.get(key, ""))


def rename_class(old: str, key: str) -> None:
    """Rename class `old` to what text input `key` holds."""
    st.session_state[_NOTICE] = teach_store.rename_class(samples(), old, st.session_state.get(key, ""))
    if st.session_state[_NOTICE]:
        st.session_state.pop(key, None)  # the box shows the name it kept


def notice() -> None:
    """Show the sentence the last class edit left, if any."""
    text = st.session_state.pop(_NOTICE, None)
    if text:
        st.warning(text, icon=":material/edit:")


def remove_class(name: str) -> None:
    samples().pop(name, None)


def add_uploads(name: str) -> None:
    """Add the files just uploaded for a class, say which were left out and why, then reset every uploader."""
    unreadable, full = [], 0
    for f in st.session_state.get(uploader_key(name)) or []:
        if thumbnail(f.getvalue()) is None:  # decoded once: the class's list shows the same thumbnail
            unreadable.append((f.name, _why_unreadable(f.getvalue())))
        elif not teach_store.add_example(samples(), name, f.getvalue()):
            full += 1
    notes = [f"'{plain(n)}' left out: {why}" for n, why in unreadable[:4]]  # each with its own reason
    if len(unreadable) > 4:
        notes.append(f"{len(unreadable) - 4} more files left out for the same kinds of reasons.")
    if full:
        notes.append(f"A class holds {teach_store.MAX_PER_CLASS} examples at most: {full} more left out.")
    st.session_state[_NOTICE] = " ".join(notes) or None
    st.session_state[_UPLOAD_ROUND] = st.session_state.get(_UPLOAD_ROUND, 0) + 1
    redraw_page()  # the upload may come with a camera frame's fragment run: its sentence and tiles need the page


def _why_unreadable(data: bytes) -> str:
    """Return the sentence that says why a file is no picture (empty, too many pixels, another kind of file)."""
    try:
        decode_image(data)
    except LightboxError as exc:
        return str(exc)
    return "Lightbox cannot read it as a picture."


def remove_sample(name: str, index: int) -> None:
    if 0 <= index < len(samples().get(name, [])):
        del samples()[name][index]


def record(frame: camera.Frame, target: str | None) -> bool:
    """Keep a held camera frame as an example of `target`, a few per second; say whether it was kept."""
    now = time.monotonic()
    if not frame.hold or target is None or now - st.session_state.get(_LAST_RECORD, 0.0) < RECORD_EVERY_S:
        return False
    kept = teach_store.add_example(samples(), target, frame.data)
    if kept:
        st.session_state[_LAST_RECORD] = now
    return kept


def _data_url(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def recording_into(classes: dict[str, list[bytes]]) -> str | None:
    """Return the class held frames go into: the "Record into" control's value as the server has it now.

    Read on every run, the camera's fragment runs included: an argument given to the fragment keeps the value
    of the last whole-page run, and a pick that reaches the server in a frame's rerun (see
    `reruns.page_input_in_fragment_run`) must steer the very next frame.
    """
    target = st.session_state.get(TEACH_TARGET)
    return target if target in classes else next(iter(classes), None)


def live_teach(key: str) -> None:
    """Draw the live camera with a hold-to-record button; once taught, the model answers every frame.

    Call it inside an st.fragment, after the "Record into" control: each frame reruns only the fragment;
    letting go of the button reruns the page, so the class lists show what was recorded.
    """
    classes = samples()
    target = recording_into(classes)
    run_id = (taught() or (None, ""))[0]
    with user_errors():
        predictor = get_predictor(run_id) if run_id else None

    def answer(frame: camera.Frame) -> dict[str, Any]:
        record(frame, target)
        counts = " · ".join(f"{name}: {len(files)}".replace(" ", "\u00a0") for name, files in classes.items())  # a
        # line breaks between classes, not inside a name ("# big: 0" read "#" / "big: 0")
        if predictor is None:
            return {"headline": "Recording..." if frame.hold else "", "bars": [], "note": counts}
        result = predictor.classify(frame.image, top_k=len(predictor.classes))
        return {**camera.bars(result.predictions), "note": counts}

    recent = classes.get(target, [])[-8:] if target else []
    extra = {
        "hold_label": f"Hold to record {target}" if target else "",
        "thumbs": [_data_url(t) for t in thumbnails(recent) if t is not None],
    }
    live = camera.live_camera(key, answer, predictor=predictor, extra=extra, fps=6)
    if live.released or camera.no_camera(live):
        live.released = False
        # A whole-page run draws the class lists below anyway. Rerunning it would also throw away the click
        # that started it (Train, pressed just after letting go): only the fragment's own run reruns the page.
        if in_fragment_run():
            st.rerun(scope="app")  # the class lists show what was recorded


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
    held = sum(map(sum, run.metrics.get("confusion_matrix", [])))  # the examples it never trained on
    right = round(run.metrics.get("val_accuracy", 0) * held)
    summary = (  # counts, not a percentage: "100%" of two held-back pictures claimed too much
        f"Trained in {time.perf_counter() - start:.1f} s on {len(dataset) - held} of your {len(dataset)} images. "
        f"Of the {held} it was not shown, to check it, it named {right} right. It is saved: Classify and Compare "
        "list it too."
        + (f" {count(skipped, 'example')} could not be read as pictures and left out." if skipped else "")
    )
    return run, summary


def taught() -> tuple[str, str] | None:
    """Return this visitor's taught run id and its summary (kept on the server: a reload keeps them), or None."""
    done = teach_examples().taught(session_owner())
    if done is not None and not get_store().weights_path(done[0]).is_file():  # deleted (Train's Delete run): the
        # page said "There is no run '...'. `python -m core runs` lists the runs." until the next Train
        teach_examples().forget_taught(session_owner())
        return None
    return done


def _counts(examples: dict[str, list[bytes]]) -> tuple[tuple[str, int], ...]:
    return tuple((name, len(files)) for name, files in examples.items())


def train_button(examples: dict[str, list[bytes]], key: str | None = None) -> None:
    """Draw the Train button; on a click, train and keep the run and its summary with the examples.

    The click is kept in session state until the training ends: a rerun that lands meanwhile (letting go of the
    record button just before pressing Train asks for one) interrupts the run that trains, and with it a
    button's one-run click; the run after it trains instead, so no press is lost. A refusal (a class with too
    few examples) stays under the button until the examples change: drawn once, the page's next run (that same
    asked-for rerun) took it away before it could be read.
    """
    pending, refused = f"{key or 'teach_train'}_pending", f"{key or 'teach_train'}_refused"
    st.button(
        "Train", type="primary", icon=":material/model_training:", key=key,
        on_click=st.session_state.__setitem__, args=(pending, True),
    )  # fmt: skip
    if not st.session_state.get(pending):
        text, counts = st.session_state.get(refused) or ("", None)
        if text and counts == _counts(examples):
            st.error(sentence(text), icon=":material/error:")  # names as typed
        return
    bar = st.progress(0.0, text="Looking at every example once...")
    try:
        run, summary = train({name: files for name, files in examples.items()}, bar)
    except Exception as exc:  # not Streamlit's rerun (a BaseException): that keeps the click for the next run
        st.session_state.pop(pending, None)
        if not isinstance(exc, LightboxError):
            raise
        bar.empty()  # a refusal is a sentence, never a bar left stuck halfway
        st.session_state[refused] = (str(exc), _counts(examples))
        st.error(sentence(str(exc)), icon=":material/error:")
        return
    st.session_state.pop(pending, None)
    st.session_state.pop(refused, None)
    teach_examples().set_taught(session_owner(), run.id, summary)
    bar.empty()
