"""Pieces the tour's steps share: the pixel grid, the audience's picture, a strip of predictions, the tour's runs."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image
from plotly.colors import get_colorscale, sample_colorscale

from core import (
    SAMPLE_PHOTOS,
    UPLOAD_TYPES,
    DataConfig,
    ImageDataset,
    ModelConfig,
    Predictor,
    RunConfig,
    RunInfo,
    TrainConfig,
    decode_image,
    load_dataset,
    sample_photo,
    train_run,
    train_val_split,
)
from dashboard.images import enlarge
from dashboard.resources import get_store
from dashboard.text import plain

PICTURES = {**{name: f"Sample: {caption.lower()}" for name, caption in SAMPLE_PHOTOS.items()}}
PICTURES.update(camera="Your webcam", upload="Your photo")
_OWN = "tour_own_picture"  # the audience's own picture (bytes, name), kept across steps
CHANNELS = (("red", "Reds"), ("green", "Greens"), ("blue", "Blues"))
TOUR_RUNS = {"simple": "tour: fully connected net", "cnn": "tour: convolutional net"}


def _text_colours(values: np.ndarray, colorscale: str) -> list[str]:
    """Return black or white per cell, whichever reads better on that cell's colour (WCAG's luminance rule)."""
    cells = sample_colorscale(get_colorscale(colorscale), (values.ravel() / 255).tolist())
    rgb = np.array([[int(c) for c in cell[4:-1].split(",")] for cell in cells]) / 255  # "rgb(r, g, b)"
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    luminance = linear @ np.array([0.2126, 0.7152, 0.0722])
    return ["black" if lum > 0.179 else "white" for lum in luminance]


def pixel_figure(values: np.ndarray, colorscale: str, title: str) -> go.Figure:
    """Draw a grid of pixel values (H, W) as a heatmap, each cell showing its number when there is room."""
    height, width = values.shape
    fig = go.Figure(
        go.Heatmap(
            z=values,
            colorscale=colorscale,
            zmin=0,
            zmax=255,
            hovertemplate="row %{y}, column %{x}: %{z}<extra></extra>",
            showscale=False,
        )
    )
    if width <= 16:  # the numbers as a layer of their own, each black or white by its cell: plotly's heatmap
        # text took one colour for mid-greys and light ones alike ("175" in grey on grey)
        rows, columns = np.indices(values.shape)
        fig.add_trace(
            go.Scatter(
                x=columns.ravel(),
                y=rows.ravel(),
                mode="text",
                text=values.astype(int).astype(str).ravel(),
                textfont={"color": _text_colours(values, colorscale)},
                hoverinfo="skip",
                showlegend=False,
            )
        )
    fig.update_layout(
        title=title,
        height=120 + 22 * height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={
            "autorange": "reversed",
            "scaleanchor": "x",
            "showticklabels": False,
            "showgrid": False,
            "zeroline": False,
            "ticks": "",
        },
        xaxis={"showticklabels": False, "showgrid": False, "zeroline": False, "ticks": ""},
    )
    return fig


def centre_crop(pixels: np.ndarray, size: int) -> np.ndarray:
    """Return the central size x size pixels of an (H, W, C) array."""
    top, left = (pixels.shape[0] - size) // 2, (pixels.shape[1] - size) // 2
    return pixels[top : top + size, left : left + size]


def _keep_own(key: str) -> None:
    file = st.session_state.get(key)
    if file is not None:
        st.session_state[_OWN] = (file.getvalue(), file.name)


def picture_ui() -> tuple[Image.Image, str] | None:
    """Choose a sample photo, a webcam snapshot or a file; return the picture and its name (None: not taken yet)."""
    source = st.segmented_control(
        "Picture",
        list(PICTURES),
        format_func=PICTURES.get,
        key="tour_picture",
        default="chelsea",
        persist_state="session",  # the same picture in every step that uses one
    )
    source = source or "chelsea"  # clicking the chosen option again clears it
    if source in SAMPLE_PHOTOS:
        return sample_photo(source), SAMPLE_PHOTOS[source]
    if source == "camera":
        st.camera_input("Webcam", key="tour_camera", on_change=_keep_own, args=("tour_camera",))
    else:
        st.file_uploader("Image file", type=UPLOAD_TYPES, key="tour_upload", on_change=_keep_own, args=("tour_upload",))
    if _OWN not in st.session_state:
        st.info("Take a snapshot or upload a photo: anything at hand, a mug, a plant, a face.", icon=":material/image:")
        return None
    data, name = st.session_state[_OWN]
    return decode_image(data), name


def prediction_strip(predictor: Predictor, val: ImageDataset, count: int = 12) -> None:
    """Draw the first `count` validation images with what the model says, right or wrong.

    Tiles of a fixed width in a row that wraps: six a row on a laptop, two on a phone (columns stacked there, one
    96-pixel digit stretched across the screen per row: 3,500 px of scrolling).
    """
    with st.container(horizontal=True, gap="small"):
        for i in range(min(count, len(val))):
            image, truth = val.to_pil(i), val.classes[int(val.labels[i])]
            guess = predictor.predict(image, top_k=1)[0]
            verdict = "right" if guess.label == truth else f"wrong, it is {plain(truth)}"
            with st.container(width=TILE_PX):
                st.image(enlarge(image, max(1, 96 // image.width)), width="stretch")
                st.caption(f"**{plain(guess.label)}** ({verdict})")


TILE_PX = 118  # six tiles and their gaps fill the Tour's column at 1280 px


def tour_config(model: str) -> RunConfig:
    """Return the tour's quick digits run for `model` ("simple" or "cnn")."""
    return RunConfig(DataConfig("digits"), ModelConfig(model), TrainConfig(epochs=10), name=TOUR_RUNS[model])


def tour_run(model: str) -> RunInfo | None:
    """Return the latest finished run with the tour's settings for `model` that still has its weights, if any: the
    tour's own, or a showcase run trained alike at the server's first start (then no step waits on training)."""
    store, want = get_store(), tour_config(model)
    same = (want.data, want.model, want.train)
    runs = [r for r in store.list_runs("finished") if (r.config.data, r.config.model, r.config.train) == same]
    return next((r for r in runs if store.weights_path(r.id).is_file()), None)


def train_tour_run(model: str) -> RunInfo:
    """Train the tour's quick digits run for `model` in this script's thread (about a second) and return it."""
    return train_run(tour_config(model), get_store())


def digits_val(config: DataConfig) -> ImageDataset:
    """Return the validation images of a digits config (held back from training)."""
    return train_val_split(load_dataset(config), config)[1]
