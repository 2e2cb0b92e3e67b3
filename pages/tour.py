"""Tour: seven short steps from pixels to a fooled network, for a first look or a talk."""

from __future__ import annotations

import streamlit as st

from dashboard import presenter
from dashboard.reruns import asked_in_url, redraw_page, set_in_url
from dashboard.tour import STEPS
from dashboard.widgets import help_box

STEP = "tour_step"  # 1-based, also the URL's ?step=, so a link opens a given step


def _go(step: int) -> None:
    st.session_state[STEP] = step
    set_in_url("step", str(step))


def _move(step: int) -> None:
    """Back and Next: go to `step`, and draw the page even when the click came with a camera frame."""
    _go(step)
    redraw_page()


def _current_step() -> int:
    """Return the step the URL asks for, else the one this session was on; keep both in step.

    Each rerun brings the address the browser showed when it sent it, which may still hold a step this session
    has since left: a camera frame or a second key press sent before the page moved on. A step this session put
    in the URL itself is such an echo, not a request, and moved the Tour back a slide; a link's step, or a
    reload's, is the first the session sees.
    """
    asked = asked_in_url("step") or ""
    step = int(asked) if asked.isdigit() else st.session_state.get(STEP, 1)
    step = min(max(step, 1), len(STEPS))
    _go(step)
    return step


def _slide_bar(step: int, title: str) -> None:
    """Presenter mode: one slim row (back, step counter and title, next), so each step fits a 1280x720 screen."""
    presenter.slide_keys(step, len(STEPS), _go)  # a clicker's PageDown/PageUp and the arrows: next and back
    bar = st.container(horizontal=True, vertical_alignment="center")  # the buttons as wide as their words: columns
    # cut them to "B..." and "N..." at 1024 x 768 with the sidebar open
    bar.button("Back", icon=":material/arrow_back:", disabled=step == 1, on_click=_move, args=(step - 1,),
               key="tour_back")  # fmt: skip
    bar.markdown(f"**{step}/{len(STEPS)} · {title}**", width="stretch")
    bar.button("Next", icon=":material/arrow_forward:", disabled=step == len(STEPS), on_click=_move,
               args=(step + 1,), key="tour_next", type="primary")  # fmt: skip


def _page_bar(step: int, title: str) -> None:
    """The Tour as a page: title, what it is, progress, back and next, the step's heading."""
    st.title("Tour")
    help_box(
        "Seven screens, one idea each: how a computer sees a picture, how a network learns, why some networks "
        "learn better, how a pretrained network helps, how it decides and how it can be fooled. Each screen has "
        "one thing to try and a link to the page that goes deeper. Every step runs offline on built-in data. "
        "**Presenter mode** (in the sidebar) makes text and charts larger for a projector and hides advanced "
        "controls; copy the address bar to open the same step in the same mode later."
    )
    st.progress(step / len(STEPS), text=f"Step {step} of {len(STEPS)}: {title}")
    st.caption(" · ".join(f"**{t}**" if i == step else t for i, (t, _) in enumerate(STEPS, start=1)))
    back, _, forward = st.columns([1, 4, 1])
    back.button("Back", icon=":material/arrow_back:", disabled=step == 1, on_click=_move, args=(step - 1,),
                key="tour_back")  # fmt: skip
    forward.button(
        "Next", icon=":material/arrow_forward:", disabled=step == len(STEPS), on_click=_move, args=(step + 1,),
        key="tour_next", type="primary",
    )  # fmt: skip
    st.header(title, divider="orange")


step = _current_step()
title, render = STEPS[step - 1]
# Presenter mode: slides, not pages, the step's picture and answer above the fold. No st.stop() here: a run that
# stops early keeps the last step's fragments (its live camera) alive, to be drawn again into this step.
if presenter.is_on():
    _slide_bar(step, title)
else:
    _page_bar(step, title)
render()
