"""Fool the model: an invisible change to a picture (FGSM) that changes what a model says it is."""

from __future__ import annotations

import streamlit as st

from core import attack
from dashboard.attack_views import download_ui, picture_ui, result_ui, smallest_change_ui
from dashboard.resources import get_predictor
from dashboard.widgets import help_box, trained_model_ui, user_errors

st.title("Fool the model")
help_box(
    "An *adversarial example* is a picture changed on purpose, so slightly that people see no difference, "
    "in the one direction that confuses a model most. Lightbox uses the *fast gradient sign method*: it asks "
    "the model which way each pixel would have to move to make its answer less likely, then moves every "
    "pixel a tiny, equal step (epsilon) that way. Models that see pixels, not objects, can be fooled like this."
)

model_name, run = trained_model_ui("attack")
image, name, truth = picture_ui(run)
epsilon = st.slider(
    "Strength of the change (epsilon)",
    0.0,
    0.1,
    0.02,
    step=0.004,
    format="%.3f",
    key="attack_epsilon",
    help="The most any pixel may change, as a share of full brightness: 0.02 is 2%, about 5 of the 255 "
    "brightness steps of a photo. Stronger changes fool more models, and start to show.",
)
with user_errors():
    predictor = get_predictor(model_name)
    result = attack(predictor, image, epsilon)
result_ui(result, truth)
download_ui(result, name)
smallest_change_ui(predictor, image)
