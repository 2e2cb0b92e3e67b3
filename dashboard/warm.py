"""Warm start: the demo's model and datasets load in the background; the sidebar says what is still loading."""

from __future__ import annotations

import streamlit as st

from dashboard.resources import settle_heap, start_warmup, warmup
from dashboard.workspace import start_showcase

_DRAWN = "warm_status_drawn"  # this session has shown the status line once: its first page is on screen


def loading_line(pending: list[str]) -> str:
    """Return the sidebar's sentence for what is still loading."""
    return f"Getting ready: loading {' and '.join(pending[:2])}{'...' if len(pending) > 2 else ''}"


@st.fragment(run_every=1.0)
def _status() -> None:
    # The browser asks for this fragment's first tick a second after it drew the page: the first page has
    # been served, so the warm-up can start without delaying it (its torch import takes a core for seconds).
    if st.session_state.get(_DRAWN):
        start_warmup()
        start_showcase()
    st.session_state[_DRAWN] = True
    pending = warmup().pending()
    if not pending:
        settle_heap(warmup())  # the demo's models and data stay: later runs need not walk them again
        st.rerun(scope="app")  # once: the line goes and this fragment stops ticking
    st.caption(loading_line(pending), help="Loaded once per server so the first demo step answers at once.")


def warm_status_ui() -> None:
    """While the demo's models and data load (or wait to), show a small status line in the sidebar."""
    if warmup().pending():
        with st.sidebar:
            _status()
