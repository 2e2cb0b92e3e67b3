"""The book's training tools on the Train page: the learning-rate finder and the schedule preview."""

from __future__ import annotations

import streamlit as st

from core import MODELS, RunConfig, batches_per_epoch, find_lr_for, schedule_curve
from dashboard.charts import lr_finder_figure, schedule_figure
from dashboard.presenter import show_chart
from dashboard.tables import rows_table, show_table
from dashboard.widgets import nearest_rate, user_errors


def _use_rate(key: str, rate: float) -> None:
    st.session_state[key] = rate


def lr_finder_ui(config: RunConfig, lr_key: str) -> None:
    """Offer the LR finder for this config; plot its curve and a button that adopts its suggestion."""
    with st.expander("Find a good learning rate", icon=":material/search:"):
        st.caption(
            "Trains a throw-away copy of the model for up to 100 batches while the learning rate rises from "
            "0.000001 to 1, and watches the loss. The best rate is where the loss falls fastest."
        )
        if st.button("Run the learning-rate finder", key="lr_find", icon=":material/play_arrow:"):
            bar = st.progress(0.0, text="Sweeping learning rates...")
            with user_errors():
                result = find_lr_for(config, progress=lambda done, total: bar.progress(done / total))
            bar.empty()
            st.session_state["lr_result"] = (config, result)
        stored = st.session_state.get("lr_result")
        if stored is None:
            return
        found_for, result = stored
        stale = _changed_since(found_for, config)
        if stale:
            st.caption(f"The curve below was measured for another {stale}: run the finder again.")
        show_chart(lr_finder_figure(result.lrs, result.losses, result.suggestion), key="lr_curve")
        st.markdown(result.explanation)
        if result.suggestion is not None and not stale:  # a rate found for Adam is no rate for SGD
            rate = nearest_rate(result.suggestion)
            st.button(
                f"Use {rate:g}",
                key="lr_use",
                on_click=_use_rate,
                args=(lr_key, rate),
                icon=":material/check:",
                help="Sets the learning rate above to the nearest choice.",
            )


def _changed_since(found_for: RunConfig, config: RunConfig) -> str:
    """Name what a finder's sweep depended on and the settings now differ in ("" when nothing)."""
    was, now = found_for.train, config.train
    changed = {
        "dataset": found_for.data != config.data,
        "model": found_for.model != config.model,
        "optimiser": (was.optimizer, was.momentum, was.weight_decay) != (now.optimizer, now.momentum, now.weight_decay),
        "batch size": was.batch_size != now.batch_size,
        "augmentation": was.augment != now.augment,
        "precision": was.precision != now.precision,
    }
    return " and ".join(name for name, differs in changed.items() if differs)


def schedule_preview_ui(config: RunConfig) -> None:
    """Plot the learning rate over the run when it is not constant."""
    if config.train.schedule == "constant":
        return
    with user_errors():
        batches = batches_per_epoch(config)
        lrs = schedule_curve(config.train, batches)
    st.caption("The learning rate during training:")
    show_chart(schedule_figure(lrs, batches), key="schedule_curve")


def layer_groups_ui(config: RunConfig) -> None:
    """Show which layers of a pretrained model learn, and at which learning rate."""
    groups = MODELS[config.model.name].layer_groups
    if groups is None:
        return
    st.caption("Which layers learn, and how fast (the book's differential learning rates):")
    show_table(
        rows_table(groups(config.train.lr)),
        hide_index=True,
        column_config={"learning rate": st.column_config.NumberColumn(format="%.2g")},
    )
    if config.train.augment != "none" and config.model.name == "lite0_transfer":
        st.caption("With augmentation, the frozen network runs on every batch instead of once: slower.")
