"""Home: what Lightbox is and where to start."""

from __future__ import annotations

import streamlit as st

from dashboard.nav import link, page
from dashboard.resources import is_private

st.title("Lightbox")
st.markdown(
    "**See how a neural network learns to recognise images.** Pick a set of pictures, train a network on "
    "them while you watch it improve, compare what different networks learned, and let a trained network "
    "name a photo you upload or take with your webcam. Everything runs on the computer serving this page."
)
if is_private():
    st.caption(
        "What you make here is yours alone and is deleted when you leave; download a bundle to keep it.",
        help="Other visitors never see your pictures, datasets or runs. Use **Keep your work** in the sidebar.",
    )
else:
    st.caption("Everyone using this server sees the runs and datasets made here: it is one shared workspace.")

steps = [
    ("data", "1 · Data", "Browse the pictures, the classes and how many of each there are."),
    ("train", "2 · Train", "Choose a network and settings, press Start and watch the curves move."),
    ("compare", "3 · Compare", "Put trained models side by side: which learned fastest, which is best?"),
    ("classify", "4 · Classify", "Show it the camera, a photo or a snapshot and see what a trained model thinks."),
    ("teach", "5 · Teach", "Show the webcam a few examples of your own classes; trained in seconds."),
    ("attack", "6 · Fool it", "Change a photo by less than the eye can see and watch the model get it wrong."),
]
starts = st.container(horizontal=True)  # the second button moves under the first where both do not fit (1024 px)
if starts.button(
    "Take the 7-step tour: the whole story in ten minutes", type="primary", icon=":material/tour:", wrap=True
):
    st.switch_page(page("tour"))  # the first thing a newcomer sees, and the best start for a talk
if starts.button("Try the camera", icon=":material/videocam:", type="primary", key="home_camera"):
    st.switch_page(page("classify"))  # Classify opens on the live camera: one click to a live answer
for row in (steps[:3], steps[3:]):  # three cards a row: six side by side cut titles short at 1280 px
    for column, (name, title, text) in zip(st.columns(3), row, strict=True):
        with column.container(border=True):
            link(name, title)
            st.caption(text)

st.info(
    "New here? **Classify** names the objects in any photo straight away with a network pretrained on a "
    "million images. **Train** shows a network learning: the defaults (handwritten digits, a small "
    "convolutional network) reach about 99% accuracy in a few seconds.",
    icon=":material/tips_and_updates:",
)
