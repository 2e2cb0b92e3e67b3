"""The app-wide sidebar, drawn by the entrypoint on every page: presenter mode and the warm-up status."""

from __future__ import annotations

import streamlit as st

from dashboard.nav import without_file_pickers
from dashboard.presenter import presenter_ui
from dashboard.warm import warm_status_ui
from dashboard.workspace import workspace_ui


def sidebar_ui(current: st.Page) -> None:
    """Draw the presenter toggle and, while the demo's models and data load, what is still loading."""
    presenter_ui()
    warm_status_ui(live=without_file_pickers(current))
    workspace_ui()  # private mode: this visitor's workspace, its lifetime and a download of it
