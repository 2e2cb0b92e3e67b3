"""Open another tab from the server without a rerun: the browser clicks it, as the visitor would.

A rerun that races a visitor's upload can drop the file (seen with tabs redrawn under a new key, and with
tabs that rerun the page on a switch), so the page never reruns to switch its tabs: this element, drawn inside
one tab, clicks the tab with the given label in the same row of tabs, once, if the visitor is still
looking at the tab it is drawn in.
"""

from __future__ import annotations

import streamlit as st

_JS = """
export default function ({ parentElement, data }) {
  if (parentElement.__opened === data.label) return;
  parentElement.__opened = data.label;  // once per label: the visitor may come back to this tab
  const host = parentElement.closest ? parentElement : parentElement.getRootNode().host;  // a shadow root's host
  const panel = host && host.closest('[role="tabpanel"]');
  if (!panel || panel.offsetParent === null) return;  // the visitor is on another tab already: leave them there
  const tabs = panel && panel.parentElement && panel.parentElement.querySelector('[role="tablist"]');
  const tab = tabs && [...tabs.querySelectorAll('[role="tab"]')].find((t) => t.textContent.trim() === data.label);
  if (tab && tab.getAttribute("aria-selected") !== "true") tab.click();
}
"""
_opener = st.components.v2.component("lightbox_open_tab", html="<span hidden></span>", js=_JS)


def open_tab(label: str, key: str) -> None:
    """Draw, inside a tab, an invisible element that makes the browser open the sibling tab called `label`."""
    _opener(key=key, data={"label": label})
