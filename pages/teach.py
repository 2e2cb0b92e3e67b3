"""Teach: your own classes, recorded by holding a button in front of the camera (or uploaded), trained in seconds."""

from __future__ import annotations

import streamlit as st

from core import available_pretrained
from dashboard import camera, teach
from dashboard.teach_views import classes_ui, target_ui, try_photo_ui
from dashboard.widgets import help_box

st.title("Teach")
help_box(
    "Teach the computer your own classes: show it a few examples of each (your face, a mug, a thumbs-up). "
    "Hold the button to record what the camera sees, or add files. It reuses a network that already learned "
    "to see from a million photos (*transfer learning*), so it only has to learn what tells **your** classes "
    "apart: a few seconds of training. Then it names what the camera sees, live."
)
if not available_pretrained():
    st.error("The pretrained network is not installed: `pip install -r requirements.txt`.", icon=":material/error:")
    st.stop()

samples = teach.samples()
target_ui(samples)


@st.fragment
def live_view() -> None:
    """The camera with its hold-to-record button; once trained, one live bar per class."""
    teach.live_teach("teach_live")


if camera.camera_missing():
    st.info(camera.NO_CAMERA_HELP, icon=":material/videocam_off:")
    st.button("Try the camera again", on_click=camera.forget_missing, key="teach_camera_retry")
else:
    live_view()

teach.train_button(samples)
run_id, summary = teach.taught() or (None, "")
if run_id is not None:
    st.success(summary, icon=":material/check_circle:")
else:
    st.caption("Record or add at least two examples of each class, then press **Train**.")

classes_ui(samples)
if run_id is not None and camera.camera_missing():
    try_photo_ui(run_id)
