"""Warm start: the demo's model and datasets load in the background; the sidebar says what is still loading.

A fragment that reruns on a timer makes Streamlit drop a file that a visitor uploads while it runs (seen
here: 3 of 12 visitors at once lost their upload, none without the timer), and a cold server is exactly
when a class opens the link and uploads photos. So the browser asks once, a second after it drew the first
page, to start the warm-up; the status line follows the loading live only on pages without a file picker,
and elsewhere is redrawn with the page.
"""

from __future__ import annotations

import sys

import streamlit as st

from dashboard.reruns import in_fragment_run
from dashboard.resources import settle_heap, start_warmup, warmup
from dashboard.workspace import SHOWCASE, showcase_training, start_showcase

_DRAWN = "warm_status_drawn"  # this session has drawn a page
_SHOWN = "warm_line_shown"  # this session's page shows a loading line that only a page run redraws
_TICKS = "warm_watch_ticks"
START_AFTER_MS = 1000  # the first page is on screen by then, so the warm-up's torch import cannot delay it
WATCH_EVERY_MS = 2000  # where the line is drawn with the page only: how often the browser asks whether it is over
# Streamlit drops a file whose upload a rerun meets, so the browser waits while a file chip shows its upload spinner.
_watcher = st.components.v2.component(
    "lightbox_warm_watch",
    html="<span hidden></span>",
    js=(
        "export default function ({ parentElement: el, data, setTriggerValue }) {\n"
        "  const uploading = () => document.querySelector('[data-testid=\"stFileChipIconSpinner\"]') !== null;\n"
        "  const send = (name, after, sent) => setTimeout(function go() {\n"
        "    if (uploading()) { setTimeout(go, 500); return; }\n"
        "    if (sent) sent();\n"
        "    setTriggerValue(name, true);\n"
        "  }, after);\n"
        f"  if (!el.__asked) {{ el.__asked = true; send('drawn', {START_AFTER_MS}); }}\n"
        "  // While the page's line may go stale, one tick at a time: each run that draws this schedules the next.\n"
        "  if (data && data.watch && !el.__waiting) {\n"
        f"    el.__waiting = true; send('tick', {WATCH_EVERY_MS}, () => {{ el.__waiting = false; }});\n"
        "  }\n"
        "}\n"
    ),
)
WORDS = {
    "digits": "handwritten digits",
    "imagenet": "the pretrained model",
    "shapes": "coloured shapes",
    SHOWCASE: "the example runs",
}


LOADING_TORCH = "Loading PyTorch for this page: the first page after the server starts takes a few seconds..."


def torch_loaded() -> bool:
    """Say whether this process has imported torch: until then a page that imports it shows nothing for seconds."""
    torch = sys.modules.get("torch")
    return torch is not None and not getattr(getattr(torch, "__spec__", None), "_initializing", False)


def loading_line(pending: list[str]) -> str:
    """Return the sidebar's sentence for what is still loading (core.demo_items' names, in words)."""
    words = [WORDS.get(name, name) for name in pending[:2]]
    return f"Getting ready: loading {' and '.join(words)}{'...' if len(pending) > 2 else ''}"


def _start() -> None:
    start_warmup()
    start_showcase()


def _pending() -> list[str]:
    """Return what is still getting ready: the warm-up's items, then the example runs while they train."""
    return warmup().pending() + ([SHOWCASE] if showcase_training() else [])


def _start_if_asked_in_vain() -> None:
    """Start the warm-up from a later run of a session whose page is on screen: the browser's one request to start
    it can be lost (a camera frame's or the line's own run took its place), and then nothing ever started it."""
    if not warmup().started and st.session_state.get(_DRAWN):
        _start()


@st.fragment
def _watch() -> None:
    # A fragment, so the browser's requests rerun only this (it draws nothing visible).
    ticks = st.session_state[_TICKS] = st.session_state.get(_TICKS, 0) + 1
    watching = bool(st.session_state.get(_SHOWN))
    # A tick's run is this fragment's run: what it does is below, so its callback does nothing.
    _watcher(
        key="warm_watch", data={"watch": ticks if watching else 0}, on_drawn_change=_start, on_tick_change=lambda: None
    )
    if watching and not _pending():  # ready since the page was drawn: the page once, without the line
        st.session_state[_SHOWN] = False
        st.rerun(scope="app")


def _line(pending: list[str]) -> None:
    st.caption(loading_line(pending), help="Loaded once per server so the first demo step answers at once.")


@st.fragment(run_every=1.0)
def _live_line() -> None:
    if in_fragment_run():  # a tick, a second after the page: it is on screen
        _start_if_asked_in_vain()
    pending = _pending()
    if not pending:
        st.rerun(scope="app")  # once: the line goes, the page shows what is ready, and this stops ticking
    _line(pending)


def warm_status_ui(live: bool) -> None:
    """Until the warm-up has started, ask the browser to start it; while it loads, say what is still loading.

    `live`: the line follows the loading every second (only where the page has no file picker). Elsewhere the
    browser asks every two seconds, never during an upload, and the page is drawn again once all is ready (it
    said "No runs yet" beside the example runs, and "loading" long after, until a reload).
    """
    _start_if_asked_in_vain()  # any later run of this session: its first page is on screen
    first = not st.session_state.get(_DRAWN)
    st.session_state[_DRAWN] = True
    pending = _pending()
    st.session_state[_SHOWN] = bool(pending) and not live
    with st.sidebar:
        if (first and not warmup().started) or st.session_state[_SHOWN]:
            _watch()
        if pending:
            _live_line() if live else _line(pending)
    if not pending and warmup().done.is_set():
        settle_heap(warmup())  # once: the demo's models and data stay, so later runs need not walk them again


def line_went_stale() -> bool:
    """On a live camera's frame: say whether the page still says something is loading that has loaded since.

    A live camera's frames rerun only its fragment: on a cold server the sidebar said "loading the pretrained
    model" while the camera beside it named what it saw. The camera asks here on each frame and redraws the
    page once when it is so (this forgets it). A frame also starts a warm-up the browser asked for in vain.
    """
    _start_if_asked_in_vain()
    if not st.session_state.get(_SHOWN) or _pending():
        return False
    st.session_state[_SHOWN] = False
    return True
