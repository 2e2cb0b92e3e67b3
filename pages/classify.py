"""Classify: the live camera, an uploaded photo or a webcam snapshot, through any trained run, as top-k bars."""

from __future__ import annotations

import streamlit as st

from core import UPLOAD_TYPES, decode_image, draw_feature_maps, list_layers, model_view
from dashboard import camera
from dashboard.charts import topk_figure
from dashboard.images import enlarge
from dashboard.resources import get_predictor
from dashboard.tabs import open_tab
from dashboard.text import plain
from dashboard.widgets import help_box, trained_model_ui, user_errors

MAX_MAPS = 32

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
with live_tab:
    if no_camera:
        st.info(camera.NO_CAMERA_HELP, icon=":material/videocam_off:")
        st.button("Try the camera again", on_click=camera.forget_missing, key="classify_camera_retry")
    else:
        live_view(model_name, top_k)
with upload_tab:
    if no_camera:
        st.caption(camera.NO_CAMERA_HELP)
    upload = st.file_uploader(
        "Image file",
        type=UPLOAD_TYPES,
        key="classify_upload",
    )
with camera_tab:
    snapshot = st.camera_input("Webcam", key="classify_camera")
source = snapshot or upload
if source is None:
    st.stop()

with user_errors():
    image = decode_image(source.getvalue())
    predictor = get_predictor(model_name)
    result = predictor.classify(image, top_k=top_k)
    predictions = result.predictions

left, right = st.columns([1, 2])
with left:
    st.image(image, caption="Your snapshot" if source is snapshot else plain(source.name), width="stretch")
    spec = predictor.spec
    st.image(
        enlarge(model_view(image, spec), max(1, 128 // max(spec.width, spec.height))),
        caption=f"What the model sees: {spec.width}x{spec.height} pixels",
    )
with right:
    best = predictions[0]
    st.metric("Prediction", plain(best.label), f"{best.probability:.1%} sure", delta_color="off", delta_arrow="off")
    st.plotly_chart(topk_figure(predictions), key="classify_bars")
    st.caption(f"The model took {result.latency_ms:.1f} ms to answer, on the CPU.")

st.subheader("Why? Where the model looked")
st.caption(
    "Grad-CAM colours the parts of the image that pushed the model hardest towards a class: bright yellow "
    "mattered most, dark purple hardly at all. A model that is right for the wrong reason shows it here."
)
options = [p.index for p in predictions]
target = st.selectbox("Explain the class", options, format_func=lambda i: predictor.classes[i], key="classify_explain")
with user_errors():
    heat, label = predictor.explain(image, target)
st.image(heat, caption=f"Where the model saw '{plain(label)}'", width=320)

st.subheader("Look inside: what each layer sees")
st.caption(
    "Each tile is one feature map: bright where a filter found its pattern in the image. Early layers find "
    "edges, spots and colours; later layers combine them into parts such as an eye or a loop, on smaller maps."
)
with user_errors():
    layers = {layer.name: layer for layer in list_layers(predictor)}
order = list(layers)
layer_name = st.selectbox(
    "Layer, from first to last",
    order,
    format_func=lambda n: (
        f"{order.index(n) + 1}. {n.removeprefix('net.')} · "
        f"{layers[n].channels} maps of {layers[n].size[0]}x{layers[n].size[1]}"
    ),
    key="classify_layer",
)
with user_errors():
    grid = draw_feature_maps(predictor, image, layer_name, MAX_MAPS)
shown = min(MAX_MAPS, layers[layer_name].channels)
total = layers[layer_name].channels
st.image(
    grid,
    caption=f"{shown} of the layer's {total} maps (the most varied ones)" if shown < total else f"All {total} maps",
)
