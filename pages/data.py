"""Data: add your own images; samples, balance, pixel statistics, a map of the images and copies across the split."""

from __future__ import annotations

import streamlit as st

from core import DATASETS, load_dataset
from dashboard.data_views import (
    augmentation_ui,
    copies_ui,
    delete_ui,
    import_ui,
    map_ui,
    overview_ui,
    samples_ui,
    statistics_ui,
    thumbnail_scale,
)
from dashboard.keys import DATA
from dashboard.widgets import dataset_ui, help_box, user_errors

st.title("Data")
help_box(
    "A classifier learns from **examples**: images with the right answer (the *class*) attached. Here you "
    "can see what the network will see: how big the images are, how many classes there are, and whether "
    "some classes have many more examples than others (*class balance*), which can bias a model."
)

import_ui()
config = dataset_ui(DATA)
delete_ui(config)
if config.name in DATASETS and DATASETS[config.name].needs_download():
    st.stop()  # dataset_ui has said why and offered the download
with user_errors(), st.spinner("Loading images..."):
    dataset = load_dataset(config)

overview_ui(dataset)
scale = thumbnail_scale(dataset)
rng = samples_ui(dataset, scale)
augmentation_ui(dataset, rng, scale)
statistics_ui(dataset)
map_ui(dataset)
copies_ui(dataset, config, scale)
