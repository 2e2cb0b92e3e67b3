"""The page list, in one place: the entrypoint's navigation and every page link use it."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
_PAGES: dict[str, tuple[str, str]] = {  # file stem -> (title, icon)
    "home": ("Home", ":material/home:"),
    "tour": ("Tour", ":material/tour:"),
    "data": ("Data", ":material/photo_library:"),
    "train": ("Train", ":material/model_training:"),
    "compare": ("Compare", ":material/compare_arrows:"),
    "classify": ("Classify", ":material/center_focus_strong:"),
    "attack": ("Fool the model", ":material/auto_fix_high:"),
    "teach": ("Teach", ":material/school:"),
}

# A timer that reruns part of a page can drop a file the visitor is uploading (see dashboard/warm.py), so
# timers that only inform are kept to the pages without a file picker.
WITHOUT_FILE_PICKERS = ("home", "compare")


def page(name: str) -> st.Page:
    """Return the st.Page for a page file stem, e.g. "train"."""
    title, icon = _PAGES[name]
    return st.Page(PAGES_DIR / f"{name}.py", title=title, icon=icon, default=name == "home")


def all_pages() -> list[st.Page]:
    """Return every page in menu order."""
    return [page(name) for name in _PAGES]


def link(name: str, label: str | None = None) -> None:
    """Draw a link to a page."""
    title, icon = _PAGES[name]
    st.page_link(page(name), label=label or title, icon=icon)


def without_file_pickers(current: st.Page) -> bool:
    """Say whether the page being drawn has no file picker (so a ticking status line cannot drop an upload)."""
    return current.title in {_PAGES[name][0] for name in WITHOUT_FILE_PICKERS}
