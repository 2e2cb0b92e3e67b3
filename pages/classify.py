"""Classify: the live camera, an uploaded photo or a webcam snapshot, through any trained run, as top-k bars."""

from __future__ import annotations

import streamlit as st

from core import UPLOAD_TYPES, decode_image
from dashboard import camera
from dashboard.classify_views import answer_ui, feature_maps_ui, gradcam_ui
from dashboard.resources import get_predictor
from dashboard.tabs import open_tab
from dashboard.text import plain
from dashboard.widgets import help_box, trained_model_ui, user_errors

st.title("Classify")
help_box(
    "A trained model turns an image into one score per class; *softmax* turns scores into probabilities "
    "that add up to 100%. The bars show the classes the model finds most likely. The small picture shows "
    "the image as the model receives it: resized to its input size, in its colours. A model only knows "
    "the classes it was trained on, so a cat shown to a digits model will still be called a digit."
)

pick, count = st.columns([3, 1])
with pick:
    model_name, run = trained_model_ui("classify")
n_classes = len((run.input_spec or {}).get("classes", [])) if run else 1000
top_k = count.slider("Classes to show", 1, max(2, min(10, n_classes)), min(5, n_classes), key="classify_k")


@st.fragment
def live_view(model: str, k: int) -> None:
    """Name what the camera sees, frame after frame; only this fragment reruns per frame."""
    with user_errors():
        predictor = get_predictor(model)
    live = camera.live_camera("classify_live", camera.classify_answer(predictor, k), predictor=predictor)
    if camera.no_camera(live) or camera.camera_missing():
        open_tab("Upload an image", key="classify_to_upload")  # the browser switches: no rerun, no upload lost


no_camera = camera.camera_missing()
live_tab, upload_tab, camera_tab = st.tabs(
    ["Live camera", "Upload an image", "Take a snapshot"],
    default="Upload an image" if no_camera else "Live camera",
    key="classify_tabs",
)
with upload_tab:  # filled before the live tab: a cold visitor's uploader does not wait for the model to load
    if no_camera:
        st.caption(camera.NO_CAMERA_HELP)
    upload = st.file_uploader(
        "Image file",
        type=UPLOAD_TYPES,
        key="classify_upload",
    )
with camera_tab:
    snapshot = st.camera_input("Webcam", key="classify_camera")
with live_tab:
    if no_camera:
        st.info(camera.NO_CAMERA_HELP, icon=":material/videocam_off:")
        st.button("Try the camera again", on_click=camera.forget_missing, key="classify_camera_retry")
    else:
        live_view(model_name, top_k)
source = snapshot or upload
if source is None:
    st.stop()

with user_errors():
    image = decode_image(source.getvalue())
    predictor = get_predictor(model_name)
    result = predictor.classify(image, top_k=top_k)

answer_ui(image, "Your snapshot" if source is snapshot else plain(source.name), predictor, result)
gradcam_ui(image, predictor, result)
feature_maps_ui(image, predictor)
