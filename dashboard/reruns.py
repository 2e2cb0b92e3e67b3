"""What a script run brings besides its own widgets: the fragment runs that carry page-level changes, and the
address the browser showed when it sent the run.

Streamlit's browser side sends the widget changes of one moment as one rerun, named after the first of them that
belongs to a fragment: a camera frame sent just before a click on the page (a clicker's PageDown, another class to
record into) takes the click into the camera's fragment run. And each rerun carries the browser's address as it
was when sent, which may still hold a value the session has since moved on from. Writes to the address wait for
a session's second run (`address_writable`).
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx


def in_fragment_run() -> bool:
    """Say whether this script run reruns fragments only (a frame, a release), not the whole page."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "fragment_ids_this_run", None))


def page_input_in_fragment_run() -> bool:
    """Say whether this fragment-only run also carries a visitor's change to a widget outside the fragment.

    The click's callback has run, but the page is not drawn again until something else reruns it. Uses
    Streamlit's widget bookkeeping (each widget's fragment, and the changed-since-last-run test its callbacks use);
    says False on a Streamlit whose internals differ.
    """
    ctx = get_script_run_ctx()
    running = getattr(ctx, "fragment_ids_this_run", None)
    if not running:
        return False
    try:
        state = ctx.session_state._state  # type: ignore[union-attr]
        widgets = state._new_widget_state
        for wid in list(widgets.states):
            meta = widgets.widget_metadata.get(wid)
            if meta is not None and meta.fragment_id not in running and state._widget_changed(wid):
                return True
    except (AttributeError, KeyError, TypeError):
        return False
    return False


def redraw_page() -> None:
    """From a page-level widget's callback: have the whole page drawn again if this run would draw fragments only.

    When the fragment the click came with is gone by then (the page moved on in between), Streamlit skips it and
    draws nothing: on a busy server a clicker's second press on the Tour's slide 4 (live camera) left slide 5 on
    screen with the session on slide 6, 1 time in 16-20. `st.rerun()` from a callback makes it a full run.
    """
    if in_fragment_run():
        st.rerun()


def _seen(param: str) -> set[str]:
    return st.session_state.setdefault(f"url_seen_{param}", set())


def asked_in_url(param: str) -> str | None:
    """Return the URL's value of `param` if this session has not had it there before (a link's, a reload's).

    A value the session already read or wrote (`set_in_url`) is an echo of an older address, not a request:
    None, as when the URL has none.
    """
    value = st.query_params.get(param)
    if value is None or value in _seen(param):
        return None
    _seen(param).add(value)
    return value


_FIRST_RUN_DONE = "url_first_run_done"


def first_run_done() -> None:
    """From the entrypoint, after each run: from the session's next run on, the address may change."""
    st.session_state[_FIRST_RUN_DONE] = True


def address_writable() -> bool:
    """Say whether this run may change the browser's address: any run of the session but its first.

    Streamlit adds a history entry for each change, and the element that makes them replace the entry instead
    (dashboard.nav) reaches the browser only with the first run's page: a first run's write made Back from the
    first page land on that page again. Waiting loses nothing: a visitor makes nothing before a second run.
    """
    return bool(st.session_state.get(_FIRST_RUN_DONE))


def set_in_url(param: str, value: str) -> None:
    """Put `param=value` in the browser's address (and remember it, so that its echo asks for nothing)."""
    _seen(param).add(value)
    if address_writable():
        st.query_params[param] = value


def drop_from_url(param: str) -> None:
    """Take `param` out of the browser's address."""
    if param in st.query_params and address_writable():
        del st.query_params[param]
