"""One way to show what a person typed or uploaded (class, dataset, run and file names): as text, never markup."""

from __future__ import annotations

import html
import re

# Every character that Streamlit's Markdown (CommonMark + GFM, colour and icon directives, LaTeX) can give
# a meaning to; CommonMark lets any ASCII punctuation be escaped with a backslash.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&=\"'/])")
_SPACES = re.compile(r"\s+")


def plain(text: object) -> str:
    """Return `text` escaped so that st.markdown, captions, labels and metrics show it literally."""
    return _MARKDOWN.sub(r"\\\1", _SPACES.sub(" ", str(text)))


def chart_text(text: object) -> str:
    """Return `text` escaped for plotly labels, which read a few HTML tags (links among them)."""
    return html.escape(_SPACES.sub(" ", str(text)))
