"""The Fool-the-model page's parts: the picture to change, the attack's result, and the smallest change that fools."""

from __future__ import annotations

import io

import streamlit as st
from PIL import Image, ImageOps
from streamlit.delta_generator import DeltaGenerator

from core import (
    LEVELS,
    SAMPLE_PHOTOS,
    SEARCH_EPSILONS,
    UPLOAD_TYPES,
    Attack,
    Predictor,
    RunInfo,
    decode_image,
    sample_photo,
    smallest_flip,
)
from dashboard.images import enlarge
from dashboard.resources import validation_samples
from dashboard.text import plain
from dashboard.widgets import progress_callback, user_errors

SOURCES = {"sample": "A sample picture", "upload": "Upload an image", "camera": "Take a snapshot"}
FAINT_STEPS = 8  # a change of up to 8 of 255 steps per pixel (the literature's usual budget) is hard to see


def picture_ui(run: RunInfo | None) -> tuple[Image.Image, str, str]:
    """Choose a picture: a sample (a validation image of a run), an upload or a snapshot; stop until there is one.

    Return the image, a file name for it and its right answer ("" where unknown).
    """
    source = st.radio("Picture", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="attack_source")
    truth = ""
    if source == "sample" and run is None:
        photo = st.selectbox(
            "Sample photo",
            list(SAMPLE_PHOTOS),
            index=list(SAMPLE_PHOTOS).index("coffee"),  # the clearest demo: espresso (92%) turns into consomme at 0.02
            format_func=SAMPLE_PHOTOS.get,
            key="attack_photo",
        )
        image, name = sample_photo(photo), f"{photo}.png"
    elif source == "sample":
        with user_errors():
            samples = validation_samples(run.id)
        pick = st.selectbox(
            "Validation image",
            range(len(samples)),
            format_func=lambda i: f"Image {i + 1}: a '{samples[i][1]}'",
            key="attack_sample",
        )
        (image, truth), name = samples[pick], f"sample-{pick + 1}.png"
    else:
        if source == "upload":
            file = st.file_uploader("Image file", type=UPLOAD_TYPES, key="attack_upload")
        else:
            file = st.camera_input("Webcam", key="attack_camera")
        if file is None:
            st.info("Upload an image or take a snapshot, or pick a sample picture.", icon=":material/image:")
            st.stop()
        with user_errors():
            image, name = decode_image(file.getvalue()), file.name
    return image, name, truth


def how_much(epsilon: float) -> str:
    """Say how far a pixel may move, in the same words on every page: "38 of 255 brightness steps (15%)"."""
    return f"{round(epsilon * LEVELS)} of 255 brightness steps ({epsilon:.0%})"


def _show(column: DeltaGenerator, title: str, result: Attack, after: bool) -> None:
    """Draw one side's top prediction as a metric and the runners-up as a caption."""
    top = (result.after if after else result.before).predictions
    column.metric(title, plain(top[0].label), f"{top[0].probability:.1%} sure", delta_color="off", delta_arrow="off")
    column.caption(" · ".join(f"{plain(p.label)} {p.probability:.0%}" for p in top[1:]))


def result_ui(result: Attack, truth: str) -> None:
    """Show the picture, the change and the changed picture, what the model says of each, and what changed."""
    scale = max(1, 192 // max(result.original.size))
    left, middle, right = st.columns(3)
    left.image(enlarge(result.original, scale), caption="The picture", width="stretch")
    change = ImageOps.expand(enlarge(result.perturbation, scale), border=2, fill="#9aa5b1")  # an edge on a white page
    middle.image(change, caption="The change, amplified (grey: none)", width="stretch")
    right.image(enlarge(result.adversarial, scale), caption="Picture + change", width="stretch")
    before_column, after_column = st.columns(2)  # half the page each: a third cut "consomme" to "conso..." in
    # presenter mode at 1024 x 768
    _show(before_column, "Before", result, after=False)
    _show(after_column, "After", result, after=True)
    if truth:
        before_column.caption(f"The right answer: '{plain(truth)}'.")

    before, after = result.before.predictions[0], result.after.predictions[0]
    steps = round(result.epsilon * LEVELS)
    if steps == 0:
        st.info("Move the slider to the right to change the picture.", icon=":material/tune:")
    else:
        seen = "too faint to notice" if steps <= FAINT_STEPS else "visible as grain"
        change = (
            f"The middle picture is the change, amplified so it can be seen: no pixel moved more than "
            f"{how_much(result.epsilon)}, on the picture itself {seen}."
        )
        if result.fooled:
            verdict = (
                f"Yet the model, which said **{plain(before.label)}** ({before.probability:.0%} sure), now says "
                f"**{plain(after.label)}** ({after.probability:.0%} sure)."
            )
        else:
            was, now = result.probability(result.label)
            verdict = (
                f"The model still says **{plain(before.label)}**, but less sure: {was:.0%} before, {now:.0%} after."
            )
        st.markdown(f"{change} {verdict}")


def download_ui(result: Attack, name: str) -> None:
    """Offer the changed picture as a PNG."""
    png = io.BytesIO()
    result.adversarial.save(png, format="PNG")
    st.download_button(
        "Download the changed picture (PNG)",
        png.getvalue(),
        file_name=f"adversarial-{name.rsplit('.', 1)[0]}.png",
        mime="image/png",
        icon=":material/download:",
        key="attack_download",
    )


def smallest_change_ui(predictor: Predictor, image: Image.Image) -> None:
    """On request, search for the weakest change that flips the model's answer, and say what it is."""
    st.subheader("How small a change is enough?")
    if st.button("Find the smallest change that fools it", key="attack_search", icon=":material/search:"):
        bar = st.progress(0.0, text="Trying stronger and stronger changes...")
        with user_errors():
            flip = smallest_flip(predictor, image, progress=progress_callback(bar, "strengths tried"))
        bar.empty()
        if flip is None:
            strongest = max(SEARCH_EPSILONS)
            st.warning(
                f"Even the strongest change tried ({strongest:.3f}, {round(strongest * LEVELS)} of 255 steps) left the "
                "answer as it was.",
                icon=":material/shield:",
            )
        else:
            st.success(
                f"A change of {flip.epsilon:.3f} ({round(flip.epsilon * LEVELS)} of 255 steps) is enough: "
                f"'{plain(flip.before.predictions[0].label)}' becomes '{plain(flip.after.predictions[0].label)}'.",
                icon=":material/check:",
            )
