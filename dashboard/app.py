"""Lightbox entrypoint: `streamlit run dashboard/app.py`. Page config and navigation, nothing else."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only this file's folder on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard.keys import keep_settings  # noqa: E402
from dashboard.nav import all_pages  # noqa: E402
from dashboard.reruns import first_run_done  # noqa: E402
from dashboard.resources import lean_server, tidy_after_run  # noqa: E402
from dashboard.sidebar import sidebar_ui  # noqa: E402
from dashboard.warm import LOADING_TORCH, torch_loaded  # noqa: E402

# An emoji, drawn by the browser: a Material icon's tab picture is fetched from Google, a request per visitor,
# and an image file makes Streamlit import numpy and PIL before the first page is drawn
st.set_page_config(page_title="Lightbox", page_icon="💡", layout="wide")
lean_server()  # once per server: a leaner allocator for the many threads to come
page = st.navigation(all_pages())
keep_settings()  # what a page was set to survives a visit to another
sidebar_ui(page)  # presenter mode and the warm-up status, on every page
# Drawn on every run, filled or not: a slot only on the first runs would move every element below it by one
# place once torch is in, and Streamlit would show the old and the new copy of a widget until that run ends
loading = st.empty()
if page.url_path and not torch_loaded():  # a page that needs PyTorch, on a server that has not loaded it yet
    loading.caption(LOADING_TORCH)
try:
    page.run()
finally:
    first_run_done()  # the address may change from the next run on (dashboard/reruns.py)
    tidy_after_run()  # garbage collected, freed pages handed back: whole-page runs only, not camera frames
    loading.empty()  # last: a rerun asked for meanwhile interrupts this call, and the next run redraws
