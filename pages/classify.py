"""Classify: an uploaded photo or a webcam snapshot, through any trained run, as top-k bars."""

from __future__ import annotations

import streamlit as st

from core import PRETRAINED, available_pretrained, decode_image, model_view, pretrained_label
from dashboard.charts import topk_figure
from dashboard.images import enlarge
from dashboard.nav import link
from dashboard.resources import get_predictor, get_store, network_online
from dashboard.widgets import explain, run_label, user_errors

st.title("Classify")
explain(
    "A trained model turns an image into one score per class; *softmax* turns scores into probabilities "
    "that add up to 100%. The bars show the classes the model finds most likely. The small picture shows "
    "the image as the model receives it: resized to its input size, in its colours. A model only knows "
    "the classes it was trained on, so a cat shown to a digits model will still be called a digit."
)

with user_errors():
    store = get_store()
    ended = [r for r in store.list_runs() if r.status in ("finished", "stopped", "interrupted")]
runs = {r.id: r for r in ended if store.weights_path(r.id).is_file()}
pretrained = available_pretrained(online=network_online())
choices = [*pretrained, *runs]
if len(runs) < len(ended):
    st.caption(f"{len(ended) - len(runs)} run(s) have no saved weights and cannot classify.")
hidden = [PRETRAINED[name].split(" · ")[0] for name in PRETRAINED if name not in pretrained and name != "imagenet"]
if hidden:
    st.caption(
        f"{', '.join(hidden)} need a one-time download of their ImageNet weights, and this server is offline "
        "right now; they appear here as soon as it can download them."
    )
if not choices:
    st.info("No trained models yet. Train one on the **Train** page, then come back.", icon=":material/info:")
    link("train", "Go to Train")
    st.stop()


def _label(choice: str) -> str:
    return pretrained_label(choice) if choice in PRETRAINED else run_label(runs[choice])


model_name = st.selectbox("Model", choices, format_func=_label, key="classify_run")
n_classes = 1000 if model_name in PRETRAINED else len((runs[model_name].input_spec or {}).get("classes", []))
top_k = st.slider("Classes to show", 1, max(2, min(10, n_classes)), min(5, n_classes), key="classify_k")

upload_tab, camera_tab = st.tabs(["Upload an image", "Take a snapshot"])
with upload_tab:
    upload = st.file_uploader(
        "Image file",
        type=["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"],
        key="classify_upload",
    )
with camera_tab:
    snapshot = st.camera_input("Webcam", key="classify_camera")
source = snapshot or upload
if source is None:
    st.info("Upload an image or take a snapshot to see what the model thinks it is.", icon=":material/image:")
    st.stop()

with user_errors():
    image = decode_image(source.getvalue())
    predictor = get_predictor(model_name)
    result = predictor.classify(image, top_k=top_k)
    predictions = result.predictions

left, right = st.columns([1, 2])
with left:
    st.image(image, caption=source.name, width="stretch")
    spec = predictor.spec
    st.image(
        enlarge(model_view(image, spec), max(1, 128 // max(spec.width, spec.height))),
        caption=f"What the model sees: {spec.width}x{spec.height} pixels",
    )
with right:
    best = predictions[0]
    st.metric("Prediction", best.label, f"{best.probability:.1%} sure", delta_color="off", delta_arrow="off")
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
st.image(heat, caption=f"Where the model saw '{label}'", width=320)
