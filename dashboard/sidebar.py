"""The app-wide sidebar, drawn by the entrypoint on every page: presenter mode, the warm-up status, the workspace."""

from __future__ import annotations

import streamlit as st

from dashboard.nav import back_leaves_the_page, without_file_pickers
from dashboard.presenter import presenter_ui
from dashboard.warm import warm_status_ui
from dashboard.workspace import workspace_ui


def sidebar_ui(current: st.Page) -> None:
    """Draw the presenter toggle, what is still loading while the demo's models and data load, and the workspace."""
    presenter_ui()
    warm_status_ui(live=without_file_pickers(current))
    workspace_ui()  # private mode: this visitor's workspace, its lifetime and a download of it
    back_leaves_the_page()  # last, so its hidden element adds no gap between the lines above
