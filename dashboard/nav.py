"""The page list, in one place: the entrypoint's navigation and every page link use it; and the browser's Back."""

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
    "teach": ("Teach", ":material/school:"),
    "attack": ("Fool the model", ":material/auto_fix_high:"),
}  # Home's cards and the Tour tell the story in this order too

# A timer that reruns part of a page can drop a file the visitor is uploading (see dashboard/warm.py), so
# timers that only inform are kept to the pages without a file picker.
WITHOUT_FILE_PICKERS = ("home", "compare")

# Streamlit adds a browser history entry for each change a script makes to `st.query_params`, and this app keeps
# the visitor's workspace (?ws=, put back after each page switch drops it), the Tour's slide and presenter mode
# there. Home -> Tour from the sidebar made three entries (/tour, +ws, +step), and Back went to the middle one,
# where the Tour wrote its slide again: Back never left the Tour. Here, once per tab, a push to the page already
# shown (only its query differs) replaces that entry instead: a page switch makes one entry, as a link does, and
# Back goes to the page before (a slideshow's slides are not history either).
_BACK_JS = """
export default function () {
  if (window.__lightboxBack) return;
  window.__lightboxBack = true;
  const push = history.pushState.bind(history);
  history.pushState = function (state, title, url) {
    const to = url == null ? null : new URL(url, location.href);
    if (to && to.origin === location.origin && to.pathname === location.pathname) {
      return history.replaceState(state, title, url);
    }
    return push(state, title, url);
  };
}
"""
_back = st.components.v2.component("lightbox_back", html="<span hidden></span>", js=_BACK_JS)


def page(name: str) -> st.Page:
    """Return the st.Page for a page file stem, e.g. "train"."""
    title, icon = _PAGES[name]
    return st.Page(PAGES_DIR / f"{name}.py", title=title, icon=icon, default=name == "home")


def menu() -> list[str]:
    """Return every page's file stem in menu order."""
    return list(_PAGES)


def all_pages() -> list[st.Page]:
    """Return every page in menu order."""
    return [page(name) for name in menu()]


def link(name: str, label: str | None = None) -> None:
    """Draw a link to a page."""
    title, icon = _PAGES[name]
    st.page_link(page(name), label=label or title, icon=icon)


def without_file_pickers(current: st.Page) -> bool:
    """Say whether the page being drawn has no file picker (so a ticking status line cannot drop an upload)."""
    return current.title in {_PAGES[name][0] for name in WITHOUT_FILE_PICKERS}


def back_leaves_the_page() -> None:
    """Draw, hidden in the sidebar, the element that keeps the app's own address changes out of the history."""
    with st.sidebar:
        _back(key="lightbox_back")


_SCROLL_JS = """
export default function ({ parentElement, data }) {
  const node = parentElement.host || parentElement;  // the component's shadow root: its host is in the page
  const box = node.closest?.('[data-testid="stElementContainer"]') || node;
  if (box.__shown === data.id) return;
  box.__shown = data.id;
  setTimeout(() => box.scrollIntoView({ behavior: "smooth", block: "start" }), 300);  // once what follows is drawn
}
"""
_scroll = st.components.v2.component("lightbox_scroll_here", html="<span></span>", js=_SCROLL_JS)


def scroll_here(what: str) -> None:
    """Scroll the browser to this point of the page once for `what` (a job just started, say): at 1024 x 768 the
    Train page's live curves began below the fold, and a 2-second run was over before anyone scrolled to it."""
    _scroll(key="scroll_here", data={"id": what})
