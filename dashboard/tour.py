"""The guided tour's seven steps: one idea, one thing to try and a few plain sentences each, all offline."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import replace

import streamlit as st

from core import (
    Attack,
    DataConfig,
    LightboxError,
    ModelConfig,
    Pace,
    Predictor,
    RunConfig,
    TrainConfig,
    WeightsError,
    attack,
    load_dataset,
)
from dashboard import camera, presenter, teach
from dashboard.attack_views import how_much
from dashboard.charts import topk_figure
from dashboard.images import enlarge
from dashboard.live_jobs import job_view, page_job, show_curves
from dashboard.nav import link
from dashboard.presenter import show_chart
from dashboard.resources import get_jobs, get_predictor, get_store, session_owner, validation_samples
from dashboard.teach_views import target_ui
from dashboard.text import plain, sentence
from dashboard.tour_parts import (
    CHANNELS,
    centre_crop,
    digits_val,
    picture_ui,
    pixel_figure,
    prediction_strip,
    tour_run,
    train_tour_run,
)
from dashboard.widgets import user_errors

PICTURE_PX = 280  # the photo and its heatmap on step 6
FIRST_NETWORK = RunConfig(
    DataConfig("digits"),
    ModelConfig("simple"),
    TrainConfig(epochs=15, batch_size=32, lr=0.01, optimizer="sgd"),  # plain SGD: slow enough to watch it learn
    name="tour: a first network",
)
EPOCH_SECONDS = 0.4  # 15 epochs take half a second on a laptop: paced, the audience watches it learn for 6 s


def what_a_computer_sees() -> None:
    """Step 1: a picture is a grid of numbers, one per pixel and colour channel."""
    st.markdown(
        "To a computer a picture is a grid of numbers: one per pixel, from 0 (dark) to 255 (bright). "
        "A colour picture has three grids, red, green and blue, stacked into one block called a **tensor**."
    )
    kind = st.radio("Picture", ["digits", "shapes"], horizontal=True, key="tour_sees", format_func=str.capitalize)
    dataset = load_dataset(kind)
    pixels = dataset.images[0].permute(1, 2, 0).numpy()  # (H, W, C) uint8
    side = st.slider(
        "Zoom: pixels across", 4, pixels.shape[1], min(8, pixels.shape[1]), key=f"tour_zoom_{kind}",
        help="How many pixels of the picture's centre to show as numbers.",
    )  # fmt: skip
    crop = centre_crop(pixels, side)  # (side, side, C)
    left, right = st.columns([1, 2])
    label = dataset.classes[int(dataset.labels[0])]  # the picture's own label, not the first class
    left.image(enlarge(dataset.to_pil(0), max(1, 256 // pixels.shape[1])), caption=f"A '{plain(label)}'")
    channels, height, width = dataset.images.shape[1:]
    left.markdown(f"Tensor shape: **{channels} x {height} x {width}**: {channels * height * width:,} numbers.")
    if channels == 1:
        show_chart(pixel_figure(crop[:, :, 0], "gray", "Grey level of each pixel"), key="tour_grid", container=right)
        return
    for column, (i, (name, scale)) in zip(right.columns(3), enumerate(CHANNELS), strict=True):
        show_chart(
            pixel_figure(crop[:, :, i], scale, f"{name.capitalize()} channel"), key=f"tour_{name}", container=column
        )
    st.caption("Three grids of the same size: how much red, green and blue light each pixel gives off.")


def _start_first_network() -> None:
    lr = st.session_state.get("tour_lr", FIRST_NETWORK.train.lr)  # the advanced choice, when shown
    seed = random.randrange(2**31)  # each press a new start: other random weights, another path to the answer
    config = replace(FIRST_NETWORK, train=replace(FIRST_NETWORK.train, lr=lr, seed=seed))
    jobs, previous = get_jobs(), st.session_state.get("tour_job")
    try:
        st.session_state["tour_job"] = jobs.start(config, owner=session_owner(), callbacks=[Pace(EPOCH_SECONDS)])
    except LightboxError as exc:  # a private server's fair-use limit: said under the button (see below)
        st.session_state["tour_refused"] = sentence(str(exc))
        return
    done = jobs.snapshot(previous) if previous in jobs.jobs else None
    if done is not None and done.run_id is not None and not done.active:  # again replaces the last: one tour run
        with contextlib.suppress(LightboxError):  # in each model list, not one per press (gone already: fine)
            get_store().delete_run(done.run_id)


def _first_network_job() -> str | None:
    """Return the job this step shows: the one started here, else this workspace's first network still training."""
    return page_job(get_jobs(), session_owner(), "tour_job", FIRST_NETWORK.name)


def _learning_view(job_id: str) -> None:
    """Draw the job's progress, curves and what it now says about 12 validation digits."""
    snap = get_jobs().snapshot(job_id)
    job_view(get_jobs(), snap, label="the network", key="tour_curves", height=300, controls=False)
    if not snap.history or snap.run_id is None:
        return
    epoch = snap.history[-1]["epoch"]
    try:
        predictor = Predictor.from_run(get_store(), snap.run_id)  # the latest checkpoint: each paced epoch gets one
    except WeightsError:
        return  # the first checkpoint is being written; the next tick shows it
    epochs = f"{int(epoch)} epoch{'s' if epoch != 1 else ''}"
    st.markdown(f"**What it says now**, after {epochs}, about 12 digits it never trained on:")
    prediction_strip(predictor, digits_val(snap.config.data))


@st.fragment(run_every=0.5)
def _live_learning(job_id: str) -> None:
    _learning_view(job_id)
    if not get_jobs().snapshot(job_id).active:
        st.rerun(scope="app")  # stop ticking once the job has ended


def a_first_network_learns() -> None:
    """Step 2: train the simple network live; loss falls, accuracy rises, its answers change."""
    st.markdown(
        "A network starts with random numbers inside and guesses at random. After each batch of examples it "
        "measures how wrong it was (the **loss**) and nudges its numbers to be a little less wrong. Watch."
    )
    job_id = _first_network_job()
    active = job_id is not None and get_jobs().snapshot(job_id).active
    if presenter.advanced_visible():
        st.select_slider(
            "Learning rate", [0.001, 0.01, 0.1, 1.0], value=FIRST_NETWORK.train.lr, key="tour_lr",
            help="How big a step it takes after each batch: too small crawls, too big overshoots and never settles.",
        )  # fmt: skip
    label = "Train it again" if job_id else "Train the network"
    st.button(  # one at a time: pressed again mid-run, it would only be refused
        label, type="primary", icon=":material/play_arrow:", on_click=_start_first_network, key="tour_train",
        disabled=active,
    )  # fmt: skip
    if refused := st.session_state.pop("tour_refused", None):
        st.error(refused, icon=":material/error:")
    if job_id is None:
        return
    if active:
        _live_learning(job_id)
    else:
        _learning_view(job_id)
    link("train", "Train other networks on other data")


def why_convolutions() -> None:
    """Step 3: a CNN against a fully connected net on the same digits, side by side."""
    st.markdown(
        "A fully connected network looks at all pixels at once. A **convolutional** network slides small "
        "detectors over the picture, so a stroke means the same wherever it is. Same data, both trained:"
    )
    if st.button("Train both networks", icon=":material/play_arrow:", key="tour_both"):
        with st.spinner("Training both networks on the same digits..."), user_errors():
            for model in ("simple", "cnn"):
                train_tour_run(model)
    runs = {model: tour_run(model) for model in ("simple", "cnn")}
    if None in runs.values():
        st.info("Press **Train both networks**: each takes a few seconds.", icon=":material/info:")
        return
    store = get_store()
    titles = {"simple": "Fully connected", "cnn": "Convolutional"}
    for column, (model, title) in zip(st.columns(2), titles.items(), strict=True):
        run = runs[model]
        column.metric(title, f"{run.metrics['val_accuracy']:.1%}", help="Share of held-back digits it names right.")
        column.caption(f"{run.params:,} numbers to learn (parameters) · {run.metrics['train_seconds']:.1f} s")
    histories = {"fully connected": store.history(runs["simple"].id), "convolutional": store.history(runs["cnn"].id)}
    show_curves(histories, key="tour_both_curves", height=320)
    link("compare", "Compare any runs in detail")


@st.fragment
def _giants_live() -> None:
    with user_errors():
        predictor = get_predictor("imagenet")
    live = camera.live_camera("tour_giants_live", camera.classify_answer(predictor, 5), predictor=predictor)
    if camera.no_camera(live):
        st.rerun(scope="app")


def standing_on_giants() -> None:
    """Step 4: a network pretrained on a million photos names what the camera sees, live."""
    st.markdown(
        "Training a network to recognise everyday objects takes a million photos and days of computing. "
        "Someone did it already: this one knows 1,000 kinds of things. Show it something."
    )
    if st.toggle("Live camera", value=not camera.camera_missing(), key="tour_giants_camera"):
        _giants_live()
        return
    picture = picture_ui()
    if picture is None:
        return
    image, name = picture
    with user_errors():
        result = get_predictor("imagenet").classify(image, top_k=5)
    left, right = st.columns([1, 2])
    left.image(image, caption=plain(name), width="stretch")
    best = result.predictions[0]
    right.metric(
        "It thinks this is", plain(best.label), f"{best.probability:.0%} sure", delta_color="off", delta_arrow="off"
    )
    show_chart(topk_figure(result.predictions), key="tour_giants_bars", container=right)
    link("classify", "Classify more photos with any model")


@st.fragment
def _teach_live() -> None:
    teach.live_teach("tour_teach_live")


def teach_something_new() -> None:
    """Step 5: two (or more) classes held up to the camera, trained in seconds on the pretrained network."""
    st.markdown(
        "The pretrained network already sees edges, textures and shapes. To learn **your** classes it only "
        "needs a new last layer: a few pictures of each and a few seconds. Pick a class, hold the button."
    )
    examples = teach.samples()
    target_ui(examples)
    missing = camera.camera_missing()
    if missing:
        st.info(camera.NO_CAMERA_HELP, icon=":material/videocam_off:")
    else:
        _teach_live()  # its note counts the examples
    teach.train_button(examples, key="tour_teach_train")
    if (done := teach.taught()) is not None:
        st.success(done[1], icon=":material/check_circle:")
    elif missing:
        st.caption(" · ".join(f"{plain(name)}: {len(files)}" for name, files in examples.items()))
    link("teach", "Rename the classes, add more or add files on the Teach page")


def how_it_decides() -> None:
    """Step 6: Grad-CAM colours where the pretrained network looked to name the audience's picture; then step 7's
    network is made ready."""
    _where_it_looked()
    if tour_run("cnn") is None:  # trained on entering step 7, step 6's pictures stayed on screen, faded, under
        # step 7's heading for the 2-3 s it took; here the slide is whole while it trains
        with contextlib.suppress(LightboxError):  # step 7 says what went wrong, where it matters
            train_tour_run("cnn")


def _where_it_looked() -> None:
    st.markdown(
        "Where did it look? **Grad-CAM** traces the answer back to the picture: yellow areas pushed "
        "hardest towards the class, dark purple hardly at all. A model right for the wrong reason shows it here."
    )
    picture = picture_ui()
    if picture is None:
        return
    image, name = picture
    with user_errors():
        predictor = get_predictor("imagenet")
        top = predictor.classify(image, top_k=3).predictions
        options = {p.index: f"{p.label} ({p.probability:.0%})" for p in top}
        target = st.segmented_control(
            "Explain", list(options), default=top[0].index, format_func=options.get, key="tour_cam_class"
        )
        heat, label = predictor.explain(image, top[0].index if target is None else target)
    left, right = st.columns(2)
    left.image(image, caption=plain(name), width=PICTURE_PX)  # fixed: a slide fits a 1280x720 projector
    right.image(heat, caption=f"Where it saw '{plain(label)}'", width=PICTURE_PX)
    link("classify", "See every layer's view on the Classify page")


def _digit_cnn() -> str:
    """Return the id of the tour's digits CNN, training it on the spot (a second or two) if there is none."""
    run = tour_run("cnn")
    if run is None:
        with st.spinner("Training a small convolutional network on the digits first..."):
            run = train_tour_run("cnn")
    return run.id


def how_it_fails() -> None:
    """Step 7: an adversarial digit: an invisible change that flips a CNN's answer."""
    st.markdown(
        "Networks see pixels, not objects. Move every pixel a tiny step in the direction that most confuses "
        "the network and it confidently names another digit, though people still see the same one."
    )
    with user_errors():
        run_id = _digit_cnn()
        samples = validation_samples(run_id)
    left, right = st.columns(2)  # side by side: the answers below stay on a 1280x720 slide
    pick = left.select_slider(
        "Example", range(len(samples)), format_func=lambda i: f"{i + 1} of {len(samples)}", key="tour_fgsm_pick"
    )
    epsilon = right.slider(
        "Strength of the change (epsilon)", 0.0, 0.3, 0.15, 0.01, key="tour_epsilon",
        help="The most any pixel may change, as a share of full brightness.",
    )  # fmt: skip
    with user_errors():
        result = attack(get_predictor(run_id), samples[pick][0], epsilon)
    _attack_view(result)
    link("attack", "Fool a photo model on the Fool the model page")


def _attack_view(result: Attack) -> None:
    """Draw original | amplified change | adversarial digit, both answers, and what happened."""
    scale = max(1, 192 // result.original.width)
    columns = st.columns(3)
    for column, picture, caption in zip(
        columns,
        (result.original, result.perturbation, result.adversarial),
        ("The digit", "The change, amplified", "Digit + change"),
        strict=True,
    ):
        column.image(enlarge(picture, scale), caption=caption, width=160)
    for column, title, top in ((columns[0], "Before", result.before), (columns[2], "After", result.after)):
        best = top.predictions[0]
        column.metric(title, plain(best.label), f"{best.probability:.0%} sure", delta_color="off", delta_arrow="off")
    verdict = "It fooled the network." if result.fooled else "Not enough yet: try a stronger change."
    st.markdown(  # the verdict first: on a 1280x720 slide it is the line in view
        f"{verdict} The middle picture is the change, made visible: no pixel moved more than "
        f"{how_much(result.epsilon)}, and a person still sees the same digit."
    )


STEPS: list[tuple[str, Callable[[], None]]] = [
    ("What a computer sees", what_a_computer_sees),
    ("A first network learns", a_first_network_learns),
    ("Why convolutions", why_convolutions),
    ("Standing on giants", standing_on_giants),
    ("Teach it something new", teach_something_new),
    ("How it decides", how_it_decides),
    ("How it fails", how_it_fails),
]
