"""Script runs that draw only fragments (a camera frame, a timer), and page-level changes that come with them."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx


def in_fragment_run() -> bool:
    """Say whether this script run reruns fragments only (a frame, a release), not the whole page."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "fragment_ids_this_run", None))


def redraw_page() -> None:
    """From a page-level widget's callback: have the whole page drawn again if this run would draw fragments only.

    Streamlit's browser side sends the widget changes of one moment as one rerun, named after the first of them
    that belongs to a fragment, so a key press or a click sent with a camera frame has its callback run in the
    camera's fragment run. When that fragment is gone by then (the page moved on in between), Streamlit skips it
    and draws nothing: on a busy server a clicker's second press on the Tour's slide 4 (live camera) left slide 5
    on screen with the session on slide 6, 1 time in 16-20. `st.rerun()` from a callback makes it a full run.
    """
    if in_fragment_run():
        st.rerun()
