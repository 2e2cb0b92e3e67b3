"""Teach examples on the server: per owner, bounded, renamed in place, recorded a few per second."""

from __future__ import annotations

import time

import pytest

from dashboard import teach_store
from dashboard.keys import TEACH_TARGET
from dashboard.teach_store import ExampleStore


def test_each_owner_has_its_own_classes_and_they_persist() -> None:
    store = ExampleStore()
    mine = store.classes("a")
    assert list(mine) == ["Class 1", "Class 2"]
    teach_store.add_example(mine, "Class 1", b"x")
    assert store.classes("a")["Class 1"] == [b"x"]  # the same workspace on the next run (or a reload)
    assert store.classes("b")["Class 1"] == []  # another visitor sees none of it
    store.forget("a")
    assert store.classes("a")["Class 1"] == [] and store.size_bytes() == 0


def test_the_store_is_bounded_in_owners_idle_time_and_examples() -> None:
    store = ExampleStore(max_owners=3, idle_seconds=3600)
    for owner in "abcd":
        store.classes(owner)
    assert store.owners() == ["b", "c", "d"]  # the least recently used went
    store._spaces["b"].touched = time.monotonic() - 7200
    store.classes("c")
    assert "b" not in store.owners()
    classes = store.classes("c")
    kept = [teach_store.add_example(classes, "Class 1", b"x") for _ in range(teach_store.MAX_PER_CLASS + 5)]
    assert sum(kept) == teach_store.MAX_PER_CLASS and not teach_store.add_example(classes, "nope", b"x")


def test_classes_are_added_renamed_and_refused_with_sentences() -> None:
    classes = {"Class 1": [b"1"], "Class 2": [b"2"]}
    same = classes
    assert teach_store.add_class(classes, "  mug ") is None and list(classes) == ["Class 1", "Class 2", "mug"]
    assert "already" in teach_store.add_class(classes, "mug")
    assert "name" in teach_store.add_class(classes, "   ")
    assert teach_store.rename_class(classes, "Class 1", "face") is None
    assert list(classes) == ["face", "Class 2", "mug"] and classes["face"] == [b"1"] and classes is same
    assert "already" in teach_store.rename_class(classes, "face", "mug")
    assert "name" in teach_store.rename_class(classes, "face", " ")
    assert list(classes) == ["face", "Class 2", "mug"]


def _record_three_frames(hold: bool) -> None:
    """An app script: three camera frames in a row, held or not, recorded into Class 2."""
    import base64
    import io

    import streamlit as st
    from PIL import Image

    from dashboard import camera, teach

    buf = io.BytesIO()
    Image.new("RGB", (224, 224), "red").save(buf, format="JPEG")
    payload = {"stream": "s", "jpeg": base64.b64encode(buf.getvalue()).decode(), "hold": hold}
    kept = sum(teach.record(camera.parse_frame({**payload, "seq": seq}), "Class 2") for seq in (1, 2, 3))
    st.write(f"kept {kept}, Class 2 has {len(teach.samples()['Class 2'])}")


@pytest.mark.parametrize(("hold", "kept"), [(True, 1), (False, 0)])
def test_held_frames_are_recorded_a_few_per_second(hold: bool, kept: int) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_record_three_frames, args=(hold,), default_timeout=30).run()
    assert not at.exception
    assert at.markdown[0].value == f"kept {kept}, Class 2 has {kept}"  # three frames in a blink: one kept


def _record_into_app() -> None:
    """An app script: the "Record into" control, then the class the camera's fragment would record into."""
    import streamlit as st

    from dashboard import teach
    from dashboard.teach_views import target_ui

    classes = teach.samples()
    target_ui(classes)
    if st.button("Drop Class 2"):
        classes.pop("Class 2")
    st.write(f"into {teach.recording_into(classes)}")


def test_the_camera_records_into_the_class_the_control_holds_now() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_record_into_app, default_timeout=30).run()
    assert at.markdown[0].value == "into Class 1"  # the first class to start
    at.segmented_control(key=TEACH_TARGET).set_value("Class 2").run()
    assert at.markdown[0].value == "into Class 2"  # read from the control's value on every run, not an argument
    at.button[0].click().run()
    assert not at.exception and at.markdown[0].value == "into Class 1"  # its class is gone: the first one
