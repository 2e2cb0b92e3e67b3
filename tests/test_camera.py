"""The live camera's server side: a frame in, bars out; stale frames dropped; bad bytes a sentence."""

from __future__ import annotations

import base64
import gc
import io
import json
import weakref
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from streamlit.testing.v1 import AppTest

from core import Predictor, load_dataset
from core.config import DataConfig
from dashboard import camera, resources
from dashboard.resources import settle_heap
from tests.helpers.pages import LoadingWarmup

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


def _digit_jpeg(index: int) -> tuple[bytes, str]:
    """A digits image as the camera would send it: a 224 px JPEG, dark ink on white paper."""
    data = load_dataset(DataConfig("digits"))
    image = ImageOps.invert(data.to_pil(index).convert("L")).resize((224, 224), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=90)
    return buf.getvalue(), data.classes[int(data.labels[index])]


def _payload(jpeg: bytes, seq: int, stream: str = "s1", **extra: object) -> dict[str, object]:
    return {"stream": stream, "seq": seq, "jpeg": base64.b64encode(jpeg).decode(), **extra}


def test_a_frame_comes_back_as_bars_in_the_predictors_classes(digits_cnn: Predictor) -> None:
    live = camera.Live()
    jpeg, truth = _digit_jpeg(0)
    frame = camera.receive(live, _payload(jpeg, 1), camera.classify_answer(digits_cnn, 3))
    assert frame is not None and frame.image.size == (224, 224)
    answer = live.answer
    assert answer["ack"] == {"stream": "s1", "seq": 1}
    assert len(answer["bars"]) == 3 and answer["headline"] == answer["bars"][0][0] == truth
    assert all(label in digits_cnn.classes for label, _ in answer["bars"])
    assert answer["bars"][0][1] >= answer["bars"][1][1] >= answer["bars"][2][1]
    assert live.frame == jpeg and live.answered == 1


def test_each_frame_taken_hands_the_heaps_free_pages_back(
    digits_cnn: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[int] = []
    monkeypatch.setattr(camera, "hand_back", lambda: handed.append(1) or True)
    live, answer = camera.Live(), camera.classify_answer(digits_cnn, 2)
    jpeg, _ = _digit_jpeg(0)
    camera.take_frame(live, _payload(jpeg, 1, hold=True), answer)
    assert live.answered == 1 and live.holding and handed == [1]  # a fragment run: no whole-page tidy-up follows
    camera.take_frame(live, _payload(jpeg, 2), answer)
    assert live.answered == 2 and live.released and handed == [1, 1]


def test_a_stale_frame_is_dropped_and_a_new_stream_starts_over(digits_cnn: Predictor) -> None:
    live = camera.Live()
    answer = camera.classify_answer(digits_cnn, 2)
    first, _ = _digit_jpeg(0)
    second, _ = _digit_jpeg(1)
    assert camera.receive(live, _payload(second, 5), answer) is not None
    before = dict(live.answer)
    assert camera.receive(live, _payload(first, 4), answer) is None  # older than the answer on screen
    assert camera.receive(live, _payload(first, 5), answer) is None  # the same frame twice
    assert live.answer == before and live.frame == second and live.answered == 1
    assert camera.receive(live, _payload(first, 1, stream="s2"), answer) is not None  # the element restarted
    assert live.answer["ack"] == {"stream": "s2", "seq": 1} and live.frame == first


@pytest.mark.parametrize(
    "payload",
    [
        {"stream": "s1", "seq": 3, "jpeg": base64.b64encode(b"not a picture at all").decode()},
        {"stream": "s1", "seq": 3, "jpeg": "%%% not base64 %%%"},
        {"stream": "s1", "seq": 3},
        {"stream": "s1", "seq": 3, "jpeg": base64.b64encode(b"\xff" * (camera.MAX_FRAME_BYTES + 1)).decode()},
    ],
    ids=["text", "not-base64", "no-picture", "too-big"],
)
def test_bad_bytes_become_a_sentence_and_the_stream_goes_on(digits_cnn: Predictor, payload: dict) -> None:
    live = camera.Live()
    assert camera.receive(live, payload, camera.classify_answer(digits_cnn, 3)) is None
    assert live.answer["note"] == camera.BAD_FRAME
    assert live.answer["ack"] == {"stream": "s1", "seq": 3}  # answered, so the browser sends the next frame
    assert live.frame is None and live.answered == 0


def test_where_it_looked_on_the_frozen_frame(digits_cnn: Predictor) -> None:
    live = camera.Live()
    jpeg, _ = _digit_jpeg(2)
    camera.receive(live, _payload(jpeg, 1, still=True), camera.classify_answer(digits_cnn, 3))
    camera.explain_frame(live, digits_cnn)
    heat = live.answer["heat"]
    assert heat.startswith("data:image/jpeg;base64,")
    picture = Image.open(io.BytesIO(base64.b64decode(heat.split(",", 1)[1])))
    assert min(picture.size) >= 192 and "looked" in live.answer["note"]


def test_classify_opens_on_the_live_camera_and_falls_back_to_uploads() -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("../pages/classify.py").run()
    assert not at.exception and not at.error
    assert not any(camera.NO_CAMERA_HELP in i.value for i in at.info)
    at.session_state["camera_missing"] = True  # what the element reports when the browser has no camera
    at.run()
    assert any(camera.NO_CAMERA_HELP in i.value for i in at.info)
    assert at.file_uploader(key="classify_upload") is not None


def test_every_run_that_draws_the_camera_reaches_the_element() -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("../pages/classify.py").run()
    live = at.session_state["classify_live__live"]
    first = live.drawn
    at.slider(key="classify_k").set_value(3).run()  # a page rerun with no frame in it
    assert not at.exception
    assert at.session_state["classify_live__live"].drawn > first  # new data: the element sees the run


class _Node:
    """An object in a reference cycle: only the garbage collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_a_loaded_model_leaves_the_collection_after_every_run(
    digits_cnn: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources, "_last_thaw", float("-inf"))  # as in a fresh server
    try:
        settle_heap(digits_cnn)
        frozen = gc.get_freeze_count()
        assert frozen > 0 and len(gc.get_objects()) < frozen / 10  # a full collection walks far fewer objects
        cycle = weakref.ref(_Node())
        gc.collect()
        assert cycle() is None  # what runs make after the freeze is still collected
        kept, one_model, next_model, later_model = [_Node()], _Node(), _Node(), _Node()
        frozen_cycle = weakref.ref(kept[0])
        resources._last_thaw -= resources.THAW_EVERY  # a minute on
        settle_heap(one_model)
        kept.clear()
        gc.collect()
        assert frozen_cycle() is not None  # garbage among frozen objects waits...
        settle_heap(next_model)  # a second load soon after: the heap is not walked again
        assert frozen_cycle() is not None and gc.get_freeze_count() >= frozen
        resources._last_thaw -= resources.THAW_EVERY
        settle_heap(later_model)
        assert frozen_cycle() is None  # ...for the next model to settle a minute after the last look
    finally:
        gc.unfreeze()


def test_the_server_caps_the_frames_a_camera_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[float] = []
    mount = camera._mount
    monkeypatch.setattr(camera, "_mount", lambda **kw: sent.append(kw["data"]["fps"]) or mount(**kw))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("../pages/classify.py").run()
    assert sent[-1] == 8  # the page's own pace
    monkeypatch.setenv("LIGHTBOX_CAMERA_FPS", "3")
    at.run()
    assert sent[-1] == 3 and not at.warning
    monkeypatch.setenv("LIGHTBOX_CAMERA_FPS", "<b>fast</b>")
    at.run()
    assert sent[-1] == 8
    warning = next(w.value for w in at.warning if "LIGHTBOX_CAMERA_FPS must be a number" in w.value)
    assert "\\<b\\>fast" in warning and "up to 8" in warning  # the host's value as text, never markup
    assert not at.exception


def test_lists_and_dicts_reach_the_element_as_one_json_text() -> None:
    """Streamlit checks each list or dict of a component's data for a dataframe, importing pandas: none is sent."""
    data = {"fps": 4, "headline": "cat", "presenter": False, "bars": [["cat", 0.9]], "ack": {"seq": 1}, "thumbs": []}
    sent = camera.element_data(data)
    assert not any(isinstance(v, list | dict) for v in sent.values())
    assert {k: v for k, v in sent.items() if k != "json"} | json.loads(sent["json"]) == data


def _stale_checks() -> None:
    import streamlit as st

    from dashboard import warm

    st.session_state.setdefault("stale", []).append(warm.line_went_stale())


def test_a_loading_line_the_camera_outlived_is_said_stale_once(monkeypatch: pytest.MonkeyPatch) -> None:
    loading = LoadingWarmup("imagenet")
    monkeypatch.setattr("dashboard.warm.warmup", lambda: loading)
    at = AppTest.from_function(_stale_checks)
    at.session_state["warm_line_shown"] = True  # a page with a file picker drew "Getting ready: loading ..."
    at.run()
    loading.left.clear()  # the model has loaded since; the camera's frames rerun only its fragment
    at.run()
    at.run()
    assert at.session_state["stale"] == [False, True, False]  # still loading; then once, to redraw the page


def test_a_frame_starts_the_warm_up_that_the_browser_asked_for_in_vain(monkeypatch: pytest.MonkeyPatch) -> None:
    loading = LoadingWarmup("digits", "imagenet")
    loading.started = False  # the starter's request came in a frame's place and was lost
    started: list[int] = []
    monkeypatch.setattr("dashboard.warm.warmup", lambda: loading)
    monkeypatch.setattr("dashboard.warm._start", lambda: started.append(1))
    at = AppTest.from_function(_stale_checks).run()
    assert started == []  # no page of this session drawn yet: its browser will ask
    at.session_state["warm_status_drawn"] = True
    at.run()
    assert started == [1] and at.session_state["stale"] == [False, False]


def _camera_alone() -> None:
    from dashboard import camera

    camera.live_camera("loading_live", lambda frame: {})


def test_classify_draws_the_loading_line_with_the_page_and_a_frame_redraws_it_once_the_model_is_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loading = LoadingWarmup("imagenet")
    monkeypatch.setattr("dashboard.warm.warmup", lambda: loading)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("../pages/classify.py").run()
    assert any("Getting ready: loading the pretrained model" in c.value for c in at.sidebar.caption)
    assert at.session_state["warm_line_shown"]  # Classify has a file picker: the line follows the page only

    loading.left.clear()  # loaded; now frames come, each a run of the camera alone
    reruns: list[object] = []
    monkeypatch.setattr(camera.st, "rerun", lambda **kwargs: reruns.append(kwargs.get("scope")))
    frames = AppTest.from_function(_camera_alone)
    frames.session_state["warm_line_shown"] = True
    frames.run()
    frames.run()
    assert reruns == ["app"]  # the page once, so its sidebar says nothing is loading any more
