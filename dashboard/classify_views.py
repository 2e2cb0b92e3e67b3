"""Classify's answer: the picture and what the model saw, the top classes, Grad-CAM, and each layer's feature maps."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st
from PIL import Image

from core import Predictor, draw_feature_maps, list_layers, model_view
from dashboard.charts import topk_figure
from dashboard.images import enlarge
from dashboard.presenter import show_chart
from dashboard.text import plain
from dashboard.widgets import user_errors

if TYPE_CHECKING:
    from core.prepare import Classification

MAX_MAPS = 32


def answer_ui(image: Image.Image, caption: str, predictor: Predictor, result: Classification) -> None:
    """Draw the picture, the picture as the model receives it, and the top classes as bars."""
    predictions = result.predictions
    left, right = st.columns([1, 2])
    with left:
        st.image(image, caption=caption, width="stretch")
        spec = predictor.spec
        st.image(
            enlarge(model_view(image, spec), max(1, 128 // max(spec.width, spec.height))),
            caption=f"What the model sees: {spec.width}x{spec.height} pixels",
        )
    with right:
        best = predictions[0]
        st.metric("Prediction", plain(best.label), f"{best.probability:.1%} sure", delta_color="off", delta_arrow="off")
        show_chart(topk_figure(predictions), key="classify_bars")
        st.caption(f"The model took {result.latency_ms:.1f} ms to answer, on the CPU.")


def gradcam_ui(image: Image.Image, predictor: Predictor, result: Classification) -> None:
    """Let the visitor pick one of the top classes and show where the model saw it (Grad-CAM)."""
    st.subheader("Why? Where the model looked")
    st.caption(
        "Grad-CAM colours the parts of the image that pushed the model hardest towards a class: bright yellow "
        "mattered most, dark purple hardly at all. A model that is right for the wrong reason shows it here."
    )
    options = [p.index for p in result.predictions]
    target = st.selectbox(
        "Explain the class", options, format_func=lambda i: predictor.classes[i], key="classify_explain"
    )
    with user_errors():
        heat, label = predictor.explain(image, target)
    st.image(heat, caption=f"Where the model saw '{plain(label)}'", width=320)


def feature_maps_ui(image: Image.Image, predictor: Predictor) -> None:
    """Let the visitor pick a layer and show its most varied feature maps for this image."""
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
    shown, total = min(MAX_MAPS, layers[layer_name].channels), layers[layer_name].channels
    st.image(
        grid,
        caption=f"{shown} of the layer's {total} maps (the most varied ones)" if shown < total else f"All {total} maps",
    )
