"""Warm start: the demo's model and datasets load in the background; the sidebar says what is still loading.

A fragment that reruns on a timer makes Streamlit drop a file that a visitor uploads while it runs (seen
here: 3 of 12 visitors at once lost their upload, none without the timer), and a cold server is exactly
when a class opens the link and uploads photos. So the browser asks once, a second after it drew the first
page, to start the warm-up; the status line follows the loading live only on pages without a file picker,
and elsewhere is redrawn with the page.
"""

from __future__ import annotations

import streamlit as st

from dashboard.resources import settle_heap, start_warmup, warmup
from dashboard.workspace import start_showcase

_DRAWN = "warm_status_drawn"  # this session has drawn a page
_SHOWN = "warm_line_shown"  # this session's page shows a loading line that only a page run redraws
START_AFTER_MS = 1000  # the first page is on screen by then, so the warm-up's torch import cannot delay it
_starter = st.components.v2.component(
    "lightbox_warm_start",
    html="<span hidden></span>",
    js=(
        "export default function ({ parentElement, setTriggerValue }) {\n"
        "  if (parentElement.__asked) return;\n"
        "  parentElement.__asked = true;  // once per element\n"
        f"  setTimeout(() => setTriggerValue('drawn', true), {START_AFTER_MS});\n"
        "}\n"
    ),
)
WORDS = {"digits": "handwritten digits", "imagenet": "the pretrained model", "shapes": "coloured shapes"}


def loading_line(pending: list[str]) -> str:
    """Return the sidebar's sentence for what is still loading (core.demo_items' names, in words)."""
    words = [WORDS.get(name, name) for name in pending[:2]]
    return f"Getting ready: loading {' and '.join(words)}{'...' if len(pending) > 2 else ''}"


def _start() -> None:
    start_warmup()
    start_showcase()


@st.fragment
def _ask_to_start() -> None:
    # A fragment, so the browser's one request reruns only this (it draws nothing visible).
    _starter(key="warm_start", on_drawn_change=_start)


def _line(pending: list[str]) -> None:
    st.caption(loading_line(pending), help="Loaded once per server so the first demo step answers at once.")


@st.fragment(run_every=1.0)
def _live_line() -> None:
    pending = warmup().pending()
    if not pending:
        st.rerun(scope="app")  # once: the line goes and this fragment stops ticking
    _line(pending)


def warm_status_ui(live: bool) -> None:
    """Until the warm-up has started, ask the browser to start it; while it loads, say what is still loading.

    `live`: the line follows the loading every second (only where the page has no file picker).
    """
    if not warmup().started:
        if st.session_state.get(_DRAWN):  # any later run of this session: its first page is on screen
            _start()
        else:
            st.session_state[_DRAWN] = True
            with st.sidebar:
                _ask_to_start()
    pending = warmup().pending()
    st.session_state[_SHOWN] = bool(pending) and not live
    if pending:
        with st.sidebar:
            _live_line() if live else _line(pending)
    elif warmup().done.is_set():
        settle_heap(warmup())  # once: the demo's models and data stay, so later runs need not walk them again


def line_went_stale() -> bool:
    """On a live camera's frame: say whether the page still says something is loading that has loaded since.

    A page with a file picker draws the line with the page only, and a live camera's frames rerun only its
    fragment: on a cold server the sidebar said "loading the pretrained model" while the camera beside it named
    what it saw. The camera asks here on each frame and redraws the page once when it is so (this forgets it).
    A visitor whose first page streams at once could also lose the browser's request to start the warm-up
    (a frame's run took its place): the line then stayed for good. A frame starts it as a later page run would.
    """
    if not warmup().started and st.session_state.get(_DRAWN):
        _start()
    if not st.session_state.get(_SHOWN) or warmup().pending():
        return False
    st.session_state[_SHOWN] = False
    return True
