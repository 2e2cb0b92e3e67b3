"""A live camera in the page: a Components v2 element streams small JPEG frames, the server answers the newest.

The browser sends one frame, waits for its answer (or a timeout), then sends the next: a slow server makes
the answers lag a little instead of queueing frames. Use it inside an `st.fragment`, so a frame reruns only
the fragment. The answer goes back as the element's `data` and is drawn by the element in place.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st
from PIL import Image

from core import ImageError, LightboxError, Prediction, Predictor, decode_image
from core.memory import hand_back
from core.sharing import SharingError, camera_fps
from dashboard import presenter
from dashboard.reruns import page_input_in_fragment_run
from dashboard.text import sentence
from dashboard.warm import line_went_stale

_HERE = Path(__file__).resolve().parent
FRAME_SIZE = 224  # the side of the square frames the browser sends: the ImageNet models' input
MAX_FRAME_BYTES = 400_000  # a 224 px JPEG is about 10 kB; anything far bigger is not our element's
BAD_FRAME = "A camera frame could not be read; the next one will be tried."
HTML = """
<div class="lightbox-camera" data-state="starting">
  <div class="screen">
    <div class="frame">
      <video data-part="video" autoplay muted playsinline></video>
      <img data-part="heat" class="heat" alt="Where the model looked" hidden>
      <div class="controls">
        <button data-part="pause" type="button">❚❚ Freeze</button>
        <button data-part="explain" type="button" hidden>Where did it look?</button>
        <button data-part="flip" type="button" hidden>Flip camera</button>
        <button data-part="restart" type="button">Restart</button>
      </div>
    </div>
    <button data-part="hold" class="hold" type="button" hidden></button>
    <div data-part="shelf" class="shelf"></div>
  </div>
  <div class="answer">
    <div data-part="message" class="message" hidden></div>
    <div data-part="headline" class="headline"></div>
    <div data-part="bars"></div>
    <div data-part="note" class="note"></div>
  </div>
</div>
"""
_mount = st.components.v2.component(
    "lightbox_camera",
    html=HTML,
    css=(_HERE / "camera.css").read_text(),
    js=(_HERE / "camera.js").read_text(),
)


@dataclass(frozen=True)
class Frame:
    """One camera frame as the server received it."""

    stream: str
    seq: int
    data: bytes
    image: Image.Image
    hold: bool = False
    still: bool = False


@dataclass
class Live:
    """One camera's server side in one session: the newest frame answered and the answer sent back."""

    stream: str = ""
    seq: int = 0
    frame: bytes | None = None  # the newest answered frame (a small JPEG), for Grad-CAM on demand
    answer: dict[str, Any] = field(default_factory=dict)
    status: str = ""  # "live", "none" (no camera or not allowed), "ended", ...
    holding: bool = False  # the newest frame came while the hold button was down
    released: bool = False  # the hold button was let go (the caller clears it)
    answered: int = 0
    drawn: int = 0  # script runs that drew the element: each one reaches the browser, answered or not
    started: float = field(default_factory=time.monotonic)


def parse_frame(payload: Any) -> Frame:
    """Turn the element's frame payload into a Frame, or raise ImageError with a sentence."""
    try:
        data = base64.b64decode(str(payload["jpeg"]), validate=True)
        stream, seq = str(payload["stream"]), int(payload["seq"])
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise ImageError(BAD_FRAME) from exc
    if len(data) > MAX_FRAME_BYTES:
        raise ImageError(BAD_FRAME)
    try:
        image = decode_image(data)
    except ImageError as exc:
        raise ImageError(BAD_FRAME) from exc
    return Frame(stream, seq, data, image, bool(payload.get("hold")), bool(payload.get("still")))


def is_stale(live: Live, payload: Any) -> bool:
    """Say whether a frame is older than one already answered in the same stream (so it is dropped)."""
    try:
        return str(payload["stream"]) == live.stream and int(payload["seq"]) <= live.seq
    except (KeyError, TypeError, ValueError):
        return False


def element_data(data: dict[str, Any]) -> dict[str, Any]:
    """Return `data` for the element with its lists and dicts packed into one JSON text, "json" (camera.js unpacks).

    Streamlit looks for a dataframe in each list or dict of a component's data: a check on every frame that imports
    pandas (a component given a list costs a server +68 MB of RSS, +6 MB given JSON text: benchmarks/table_memory.py).
    Text, numbers and booleans it passes through untouched.
    """
    nested = {k: v for k, v in data.items() if isinstance(v, list | dict)}
    return {**{k: v for k, v in data.items() if k not in nested}, "json": json.dumps(nested)}


def bars(predictions: list[Prediction]) -> dict[str, Any]:
    """Return the element's answer for a list of predictions: a headline and one bar per class."""
    return {
        "headline": predictions[0].label if predictions else "",
        "bars": [[p.label, round(p.probability, 4)] for p in predictions],
    }


def classify_answer(predictor: Predictor, top_k: int) -> Callable[[Frame], dict[str, Any]]:
    """Return an answer function naming a frame with `predictor`: the one inference path uploads take too."""

    def answer(frame: Frame) -> dict[str, Any]:
        result = predictor.classify(frame.image, top_k=top_k)
        return {**bars(result.predictions), "note": f"{result.latency_ms:.0f} ms per look"}

    return answer


def receive(live: Live, payload: Any, answer: Callable[[Frame], dict[str, Any]]) -> Frame | None:
    """Answer a frame payload into `live.answer`; return the frame, or None when it was stale and dropped."""
    if is_stale(live, payload):
        return None
    ack = {"stream": str(payload.get("stream", "")), "seq": _seq(payload)}
    try:
        frame = parse_frame(payload)
        reply = answer(frame)
    except LightboxError as exc:
        live.stream, live.seq = ack["stream"], ack["seq"]
        live.answer = {**live.answer, "ack": ack, "note": str(exc)}
        return None
    live.stream, live.seq, live.frame = frame.stream, frame.seq, frame.data
    live.answer = {**reply, "ack": ack}
    live.answered += 1
    return frame


def take_frame(live: Live, payload: Any, answer: Callable[[Frame], dict[str, Any]]) -> None:
    """Take a frame the element sent: note the hold button, answer the frame, then hand the heap's free pages back.

    A frame is a fragment run, which the whole-page tidy-up (dashboard.app) does not follow: left in the heap,
    each frame's buffers kept a live camera at +70-80 MB of server RSS over the page without it; handed back (at
    most once a second, 2-4 ms), +20-25 MB.
    """
    held, live.holding = live.holding, bool(payload.get("hold"))
    live.released = live.released or (held and not live.holding)  # the release event may be lost
    receive(live, payload, answer)
    if not payload.get("still"):
        live.answer.pop("heat", None)
    hand_back()


def _seq(payload: Any) -> int:
    try:
        return int(payload.get("seq", 0))
    except (TypeError, ValueError):
        return 0


def explain_frame(live: Live, predictor: Predictor) -> None:
    """Put a Grad-CAM picture of the newest answered frame into the answer (a sentence if it cannot be)."""
    if live.frame is None:
        return
    try:
        heat, label = predictor.explain(decode_image(live.frame))
    except LightboxError as exc:
        live.answer = {**live.answer, "note": str(exc)}
        return
    buf = io.BytesIO()
    heat.convert("RGB").save(buf, format="JPEG", quality=85)
    live.answer = {
        **live.answer,
        "heat": "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode(),
        "note": f"Bright: where it looked to say '{label}'. Press Go on to continue.",
    }


def _state(key: str) -> Live:
    return st.session_state.setdefault(f"{key}__live", Live())


def _frame_rate(wanted: float) -> float:
    """Return the page's `wanted` frames a second, lowered to the server's LIGHTBOX_CAMERA_FPS."""
    try:
        return min(wanted, camera_fps(wanted))
    except SharingError as exc:  # a host's typo: say so, and stream at the page's own pace
        note = f"{exc} Meanwhile the camera sends up to {wanted:g} frames a second."
        st.warning(sentence(note), icon=":material/settings:")
        return wanted


def live_camera(
    key: str,
    answer: Callable[[Frame], dict[str, Any]],
    *,
    predictor: Predictor | None = None,
    extra: dict[str, Any] | None = None,
    fps: float = 8,
) -> Live:
    """Draw the live camera; answer each new frame with `answer` (its dict is drawn: headline, bars, note).

    `predictor` enables "Where did it look?" on a frozen frame; `extra` adds element data (hold_label,
    thumbs). `fps` is the most frames a second it sends, lowered to the server's LIGHTBOX_CAMERA_FPS.
    Returns the camera's server-side state (status, released).
    """
    if page_input_in_fragment_run() or line_went_stale():
        st.rerun(scope="app")  # a page control's change came with a frame, or the sidebar's loading line is over
    live = _state(key)

    def on_frame() -> None:
        payload = (st.session_state.get(key) or {}).get("frame")
        if payload is not None:
            take_frame(live, payload, answer)

    def on_explain() -> None:
        if predictor is not None:
            explain_frame(live, predictor)

    def on_status() -> None:
        live.status = str((st.session_state.get(key) or {}).get("status") or "")

    def on_release() -> None:
        live.released = True

    # `drawn` changes every run, so the element hears of a run that did not answer its frame (a page rerun
    # drops a frame's waiting fragment run) and sends the next frame at once instead of after a timeout.
    live.drawn += 1
    # `key` names the camera: an element that starts drawing another one is on the page now in the address.
    data = {"size": FRAME_SIZE, "fps": _frame_rate(fps), "drawn": live.drawn, "presenter": presenter.is_on()}
    data["key"] = key
    data.update({**live.answer, **(extra or {})})
    _mount(
        key=key,
        data=element_data(data),
        on_frame_change=on_frame,
        on_explain_change=on_explain,
        on_status_change=on_status,
        on_release_change=on_release,
    )
    return live


_MISSING = "camera_missing"  # set once the browser said it has no camera (or may not use it)
NO_CAMERA_HELP = (
    "No camera here, or the browser may not use it. Upload a photo instead, or allow the camera "
    "(the camera icon in the address bar) and try again."
)


def no_camera(live: Live) -> bool:
    """Say (once) that the browser has no usable camera, so the page can offer uploads instead."""
    if live.status != "none" or st.session_state.get(_MISSING):
        return False
    st.session_state[_MISSING] = True
    return True


def camera_missing() -> bool:
    """Say whether this session's browser reported no usable camera."""
    return bool(st.session_state.get(_MISSING))


def forget_missing() -> None:
    """Let the camera be tried again (a button's callback)."""
    st.session_state.pop(_MISSING, None)
