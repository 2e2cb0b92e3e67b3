"""The views of the Compare page: filters, accuracy against cost, mistakes, two models, ensembles."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
from PIL import Image

from core import (
    ImageDataset,
    McNemarResult,
    RunInfo,
    RunStore,
    ValidationPredictions,
    check_same_validation,
    ensemble,
    mcnemar,
    pareto_front,
    per_class_report,
    speed_and_size,
    validation_set,
)
from dashboard.charts import confusion_figure
from dashboard.compare_charts import clickable_confusion_figure, ensemble_figure, pareto_figure, selected_cell
from dashboard.images import enlarge
from dashboard.presenter import show_chart
from dashboard.resources import get_predictor, validation_predictions
from dashboard.tables import arrow_table, show_table
from dashboard.text import count, plain
from dashboard.widgets import run_label, user_errors

if TYPE_CHECKING:
    import pyarrow as pa  # dashboard.tables imports it, with the allocator it needs set first

GALLERY_SIDE = 112  # pixels: tiny digits are enlarged to about this


def filter_runs_ui(runs: Sequence[RunInfo]) -> list[RunInfo]:
    """Draw dataset / model / status / name filters and return the runs that pass them."""
    datasets = sorted({Path(r.dataset).name for r in runs})
    models = sorted({r.model for r in runs})
    statuses = sorted({r.status for r in runs})
    cols = st.columns(4)
    pick_data = cols[0].multiselect("Dataset", datasets, key="compare_f_data", placeholder="all")
    pick_model = cols[1].multiselect("Model", models, key="compare_f_model", placeholder="all")
    pick_status = cols[2].multiselect("Status", statuses, key="compare_f_status", placeholder="all")
    text = cols[3].text_input("Name contains", key="compare_f_name").strip().lower()
    return [
        r
        for r in runs
        if (not pick_data or Path(r.dataset).name in pick_data)
        and (not pick_model or r.model in pick_model)
        and (not pick_status or r.status in pick_status)
        and text in r.name.lower()
    ]


def _gallery(val: ImageDataset, indices: Sequence[int], captions: Sequence[str], columns: int = 6) -> None:
    """Show validation images, enlarged with square pixels, in rows with a caption each."""
    if not len(indices):
        st.caption("No images here.")
        return
    scale = max(1, GALLERY_SIDE // max(val.image_size))
    _image_rows([enlarge(val.to_pil(int(i)), scale) for i in indices], captions, columns)


def _image_rows(images: Sequence[Image.Image], captions: Sequence[str], columns: int = 6) -> None:
    """Lay out pictures in rows of `columns`, each with its caption."""
    for start in range(0, len(images), columns):
        for col, image, caption in zip(
            st.columns(columns), images[start : start + columns], captions[start : start + columns], strict=False
        ):
            col.image(image, caption=caption, width="stretch")


def measure_missing_ui(store: RunStore, runs: Sequence[RunInfo]) -> None:
    """Offer to measure latency and size of runs recorded before they were measured at the end of training."""
    missing = [r for r in runs if "latency_ms" not in r.metrics and store.weights_path(r.id).is_file()]
    if not missing or not st.button(
        f"Measure speed and size of {count(len(missing), 'older run')}", key="compare_measure"
    ):
        return
    bar = st.progress(0.0, text="Timing each model on one image at a time...")
    with user_errors():
        for i, run in enumerate(missing, start=1):
            speed_and_size(store, run.id)
            bar.progress(i / len(missing), text=f"Measured {i} of {len(missing)}")
    st.rerun()


def pareto_ui(store: RunStore, runs: Sequence[RunInfo]) -> None:
    """Accuracy against latency or size: which runs are worth shipping."""
    st.caption(
        "Each dot is a run. Up is more accurate, left is faster (or smaller). The dotted line joins the runs "
        "no other run beats on both at once: pick from the line, as far left as your accuracy needs allow."
    )
    measure_missing_ui(store, runs)
    measured = [r for r in runs if "latency_ms" in r.metrics and "val_accuracy" in r.metrics]
    if not measured:
        st.info("None of these runs has a measured speed yet.", icon=":material/info:")
        return
    if len({r.dataset for r in measured}) > 1:  # accuracies on other images do not compare, nor do their trade-offs
        first = measured[0].dataset
        st.info(
            f"These runs learned different datasets, whose accuracies do not compare: the chart shows those on "
            f"'{plain(first)}'. Pick runs of one dataset above to weigh others.",
            icon=":material/info:",
        )
        measured = [r for r in measured if r.dataset == first]
    cost = st.segmented_control(
        "Cost",
        ["latency", "size"],
        default="latency",
        key="compare_cost",
        help="Latency: milliseconds for one image on this server's CPU. Size: megabytes of the saved weights.",
    )
    field, label, unit = (
        ("size_mb", "size (MB)", "MB") if cost == "size" else ("latency_ms", "latency (ms, one image)", "ms")
    )
    costs = [float(r.metrics[field]) for r in measured]
    accs = [float(r.metrics["val_accuracy"]) for r in measured]  # the weights each run kept: the ones shipped
    names = [f"{r.name} ({r.id[-4:]})" for r in measured]
    index = {r.id: i for i, r in enumerate(measured)}
    pairs = [(index[r.metrics["int8_of"]], i) for i, r in enumerate(measured) if r.metrics.get("int8_of") in index]
    models = [f"{r.model} int8" if r.config.model.quantization else r.model for r in measured]
    show_chart(pareto_figure(names, costs, accs, label, models, pairs), key="compare_pareto")
    best = ", ".join(f"**{plain(names[i])}** ({accs[i]:.1%}, {costs[i]:.3g} {unit})" for i in pareto_front(costs, accs))
    st.caption(f"Best trade-offs, cheapest first: {best}. Accuracy is that of the weights each run kept.")


def _biggest_mistake(matrix: np.ndarray) -> tuple[int, int]:
    off = matrix.copy()
    np.fill_diagonal(off, -1)
    true, pred = np.unravel_index(int(off.argmax()), off.shape)
    return int(true), int(pred)


def _class_table(vp: ValidationPredictions) -> pa.Table:
    report = per_class_report(vp.confusion())
    return arrow_table(
        {
            "class": list(vp.classes),
            "precision": [r["precision"] for r in report],
            "recall": [r["recall"] for r in report],
            "images": [r["support"] for r in report],
        }
    )


def _cell_picker(run: RunInfo, vp: ValidationPredictions, chart_event: object) -> tuple[int, int]:
    """Return the (true, predicted) cell: the one clicked, else the one picked below, else the biggest mix-up."""
    keys = (f"mistake_true_{run.id}", f"mistake_pred_{run.id}")
    clicked, seen = selected_cell(chart_event), f"mistake_click_{run.id}"
    if clicked is not None and clicked != st.session_state.get(seen):  # a new click wins over the boxes once
        st.session_state[keys[0]], st.session_state[keys[1]] = clicked
    st.session_state[seen] = clicked
    for key, start in zip(keys, _biggest_mistake(vp.confusion()), strict=True):  # a start in session state, not
        st.session_state.setdefault(key, start)  # as index=: a click above sets the same keys (Streamlit warns)
    names = list(range(len(vp.classes)))
    left, right = st.columns(2)
    true = left.selectbox("True class", names, format_func=lambda i: vp.classes[i], key=keys[0])
    pred = right.selectbox("Predicted as", names, format_func=lambda i: vp.classes[i], key=keys[1])
    return int(true), int(pred)


def mistakes_ui(runs: Sequence[RunInfo]) -> None:
    """Confusion matrix with its images, per-class table, and the most confidently wrong images."""
    run_ids = [r.id for r in runs]
    by_id = {r.id: r for r in runs}
    run = by_id[st.selectbox("Run", run_ids, format_func=lambda i: run_label(by_id[i]), key="mistakes_run")]
    with user_errors():
        vp = validation_predictions(run.id)
        val = validation_set(run)
    left, right = st.columns([3, 2])
    with left:
        event = show_chart(
            clickable_confusion_figure(vp.confusion().tolist(), vp.classes),
            on_select="rerun",
            selection_mode="points",
            key=f"mistakes_matrix_{run.id}",
        )
    show_table(
        _class_table(vp),
        right,
        hide_index=True,
        column_config={
            "precision": st.column_config.NumberColumn(format="percent", help="Of those it called X, how many were X"),
            "recall": st.column_config.NumberColumn(
                format="percent", help="Of the real X, how many it found: the accuracy on that class"
            ),
        },
    )
    st.markdown("**Click a square** (or pick it here) to see its images.")
    true, pred = _cell_picker(run, vp, event)
    cell = vp.cell(true, pred)
    more = " (first 24 shown)" if len(cell) > 24 else ""
    st.caption(
        f"{count(len(cell), 'validation image')} of **{plain(vp.classes[true])}** called "
        f"**{plain(vp.classes[pred])}**{more}."
    )
    _gallery(val, cell[:24], [f"#{i}" for i in cell[:24]])
    top_losses_ui(run, vp, val)


def top_losses_ui(run: RunInfo, vp: ValidationPredictions, val: ImageDataset) -> None:
    """The images the model got wrong most confidently, optionally with where it looked."""
    st.markdown("##### Most confidently wrong")
    worst = vp.top_losses(12)
    if not len(worst):
        st.caption("This model gets every validation image right.")
        return
    st.caption("The validation images whose true class the model thought least likely: often mislabelled or odd.")
    captions = [
        f"true {plain(vp.classes[vp.labels[i]])} · said {plain(vp.classes[vp.predictions[i]])} "
        f"({vp.probabilities[i, vp.predictions[i]]:.0%})"
        for i in worst
    ]
    with user_errors():
        predictor = get_predictor(run.id)
    if not st.toggle(
        "Show where the model looked (Grad-CAM)",
        key=f"mistakes_cam_{run.id}",
        disabled=not predictor.can_explain,
        help="Grad-CAM colours the parts of the image that pushed the model to its answer: yellow most, purple least."
        if predictor.can_explain
        else "Grad-CAM follows a float convolutional network's feature maps and gradients.",
    ):
        if not predictor.can_explain:
            st.caption(predictor.cannot_explain or "")
        _gallery(val, worst, captions)
        return
    with user_errors():
        overlays = [
            predictor.explain(val.to_pil(int(i)), int(vp.predictions[i]), min_side=GALLERY_SIDE)[0] for i in worst
        ]
    _image_rows(overlays, captions)


def _same_data(runs: Sequence[RunInfo]) -> list[RunInfo]:
    """Return the runs sharing the first dataset that two or more of them used (else all), for a default pick."""
    for run in runs:
        group = [r for r in runs if r.dataset == run.dataset]
        if len(group) > 1:
            return group
    return list(runs)


def _pick_two(runs: Sequence[RunInfo]) -> tuple[RunInfo, RunInfo]:
    by_id = {r.id: r for r in runs}
    ids = list(by_id)
    pair = _same_data(runs)  # default to two runs that can be compared image by image
    first, second = ids.index(pair[0].id), ids.index(pair[1].id)
    left, right = st.columns(2)
    a = left.selectbox("Model A", ids, index=first, format_func=lambda i: run_label(by_id[i]), key="two_a")
    b = right.selectbox("Model B", ids, index=second, format_func=lambda i: run_label(by_id[i]), key="two_b")
    return by_id[a], by_id[b]


def _significance_sentence(name_a: str, name_b: str, acc_a: float, acc_b: float, test: McNemarResult) -> str:
    better = name_a if acc_a >= acc_b else name_b
    if test.only_a + test.only_b == 0:  # no image where one is right and the other wrong: nothing to weigh
        return (  # named: with three members, "they" read as all of them
            f"{name_a[0].upper()}{name_a[1:]} and {name_b} are right and wrong on exactly the same images: nothing "
            "tells them apart here."
        )
    often = "less than 0.1%" if test.p_value < 0.001 else f"{test.p_value:.1%}"
    chance = f"if both were equally good, a split this uneven would happen {often} of the time"
    if test.significant():
        return f"The difference is unlikely to be luck ({chance}; McNemar's test): **{better}** is better here."
    return (
        f"With these images the difference could well be luck ({chance}; McNemar's test); "
        "more validation images, or more runs, would be needed to tell them apart."
    )


def two_models_ui(runs: Sequence[RunInfo]) -> None:
    """Two runs on the same images: where they disagree, and whether the difference is real."""
    if len(runs) < 2:
        st.info("Pick two runs above to put them head to head.", icon=":material/info:")
        return
    run_a, run_b = _pick_two(runs)
    with user_errors():
        check_same_validation([run_a, run_b])
        va, vb = validation_predictions(run_a.id), validation_predictions(run_b.id)
        val = validation_set(run_a)
    result = mcnemar(va.correct, vb.correct)
    cols = st.columns(4)
    cols[0].metric("A accuracy", f"{va.accuracy:.1%}")
    cols[1].metric("B accuracy", f"{vb.accuracy:.1%}")
    cols[2].metric("Only A right", f"{result.only_a:,}")
    cols[3].metric("Only B right", f"{result.only_b:,}")
    st.markdown(_significance_sentence("A", "B", va.accuracy, vb.accuracy, result))
    differ = np.flatnonzero(va.predictions != vb.predictions)
    more = " (first 24 shown)" if len(differ) > 24 else ""
    st.caption(f"{count(len(differ), 'image')} where the two models give different answers{more}.")
    shown = differ[:24]
    _gallery(
        val,
        shown,
        [
            f"true {plain(va.classes[va.labels[i]])} · A {plain(va.classes[va.predictions[i]])} "
            f"· B {plain(vb.classes[vb.predictions[i]])}"
            for i in shown
        ],
    )


def ensemble_ui(runs: Sequence[RunInfo]) -> None:
    """Average two or more runs' probabilities and evaluate the result like any model."""
    st.caption(
        "An ensemble asks several models and averages their probabilities. Models that make different "
        "mistakes cover for each other, so the ensemble is often better than any one of them."
    )
    by_id = {r.id: r for r in runs}
    chosen = st.multiselect(
        "Members",
        list(by_id),
        default=[r.id for r in _same_data(runs)][:3],
        format_func=lambda i: run_label(by_id[i]),
        key="ens_members",
        help="The runs whose answers are averaged. They must have been trained and checked on the same images.",
    )
    if len(chosen) < 2:
        st.info("Pick at least two runs trained on the same data.", icon=":material/info:")
        return
    members = [by_id[i] for i in chosen]
    with user_errors():
        check_same_validation(members)
        predictions = [validation_predictions(r.id) for r in members]
        combined = ensemble(predictions, name="ensemble")
    names = [f"{r.name} ({r.id[-4:]})" for r in members]
    show_chart(
        ensemble_figure([*names, "ensemble"], [*(p.accuracy for p in predictions), combined.accuracy]), key="ens_bars"
    )
    best = max(predictions, key=lambda p: p.accuracy)
    result = mcnemar(combined.correct, best.correct)
    st.markdown(
        f"Ensemble: **{combined.accuracy:.2%}** accuracy, loss {combined.loss:.4f}; best member: "
        f"{best.accuracy:.2%}, loss {best.loss:.4f}. "
        + _significance_sentence("the ensemble", "the best member", combined.accuracy, best.accuracy, result)
    )
    show_chart(confusion_figure(combined.confusion().tolist(), combined.classes), key="ens_confusion")
