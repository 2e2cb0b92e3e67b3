"""The Train page's record: the runs table, why runs failed, and keeping or shipping a run."""

from __future__ import annotations

import streamlit as st

from core import RunInfo, RunStore
from core.sharing import SERVER
from dashboard.resources import is_private
from dashboard.ship import restore_ui, ship_ui
from dashboard.tables import arrow_table, runs_column_config, runs_table, show_table
from dashboard.text import count, plain
from dashboard.widgets import run_label, user_errors

_DELETED = "ship_deleted"  # the name of the run just deleted


def runs_ui(store: RunStore, training: bool = False) -> list[RunInfo]:
    """Show every run this visitor may see as a table, and why the failed ones failed; return the runs."""
    st.subheader("Runs")
    if is_private():
        st.caption(
            "Your runs are yours alone, with the server's built-in ones; they are deleted a while after you leave."
        )
    else:
        st.caption("Runs are shared: everyone using this server sees and compares the same runs, the team's record.")
    runs = store.list_runs()
    if not runs and training:  # the job above is still preparing, or the page was drawn before its run began
        st.info("Your first run is listed here once its training ends.", icon=":material/info:")
    elif not runs:
        st.info("No runs yet. Choose settings above and press **Start training**.", icon=":material/info:")
    else:  # no st.stop(): a bundle can still be restored below
        show_table(runs_table(runs), hide_index=True, column_config=runs_column_config())
    failed = [r for r in runs if r.status == "failed" and r.error]
    if failed:
        with st.expander(f"Why {count(len(failed), 'run')} failed"):
            show_table(
                arrow_table({"run": [r.id for r in failed], "error": [r.error for r in failed]}), hide_index=True
            )
    return runs


def keep_or_ship_ui(store: RunStore, runs: list[RunInfo]) -> None:
    """Offer a run's bundle and exported files for download, and the restore of a bundle."""
    st.subheader("Keep or ship a run")
    if deleted := st.session_state.pop(_DELETED, None):
        st.toast(f"Deleted {plain(deleted)}.", icon=":material/delete:")
    st.caption(
        "Streamlit Community Cloud forgets every file when the app restarts, so download a bundle of each run you "
        "want to keep and restore it here later; .pt2 and ONNX files run the model without Lightbox."
    )
    if runs:
        by_id = {r.id: r for r in runs}
        newest = max(runs, key=lambda r: r.created).id
        if st.session_state.get("ship_newest") != newest:  # a run just trained or restored: offered first
            st.session_state["ship_run"] = st.session_state["ship_newest"] = newest
        ship_id = st.selectbox(
            "Run to download", list(by_id), format_func=lambda i: run_label(by_id[i]), key="ship_run"
        )
        ship_ui(store, by_id[ship_id])
        delete_ui(store, by_id[ship_id])
    restore_ui(store)


def delete_ui(store: RunStore, run: RunInfo) -> None:
    """Offer to delete the chosen run for good: a visitor's own on a private server (their room is bounded), any
    on a shared one; never one that is training."""
    if (is_private() and run.owner == SERVER) or run.status == "running":
        return
    sure = st.checkbox(f"Delete **{plain(run.name or run.id)}** for good", key=f"ship_delete_{run.id}")
    if st.button("Delete run", icon=":material/delete:", disabled=not sure, key="ship_delete"):
        with user_errors():
            store.delete_run(run.id)
        st.session_state.pop(f"ship_delete_{run.id}", None)
        st.session_state[_DELETED] = run.name or run.id  # said on the page's next run: it just vanished
        st.rerun()
