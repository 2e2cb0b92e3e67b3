"""Home: what Lightbox is and where to start."""

from __future__ import annotations

import streamlit as st

from dashboard.nav import link

st.title("Lightbox")
st.markdown(
    "**See how a neural network learns to recognise images.** Pick a set of pictures, train a network on "
    "them while you watch it improve, compare what different networks learned, and let a trained network "
    "name a photo you upload or take with your webcam. Everything runs on the computer serving this page; "
    "nothing you upload goes anywhere else."
)

steps = [
    ("data", "1. Look at the data", "Browse the pictures, the classes and how many of each there are."),
    ("train", "2. Train a model", "Choose a network and settings, press Start and watch the curves move."),
    ("compare", "3. Compare runs", "Put trained models side by side: which learned fastest, which is best?"),
    ("classify", "4. Classify a photo", "Upload an image or take a snapshot and see what a trained model thinks."),
]
for column, (page, title, text) in zip(st.columns(len(steps)), steps, strict=True):
    with column.container(border=True):
        link(page, title)
        st.caption(text)

st.info(
    "New here? Start with **Train**: the defaults (handwritten digits, a small convolutional network) reach "
    "about 99% accuracy in a few seconds.",
    icon=":material/tips_and_updates:",
)
