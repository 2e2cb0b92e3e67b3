"""One way to show what a person typed or uploaded (class, dataset, run and file names): as text, never markup."""

from __future__ import annotations

import html
import re
import unicodedata

# Every character that Streamlit's Markdown (CommonMark + GFM, colour and icon directives, LaTeX) can give
# a meaning to; CommonMark lets any ASCII punctuation be escaped with a backslash.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&=\"'/])")
_SPACES = re.compile(r"\s+")
# GFM turns bare addresses into links after escapes are resolved ("http://x", "www.x", "a@b.c"), so break
# each pattern with an invisible word joiner that neither its regular expressions nor a reader sees.
_AUTOLINK = re.compile(r"(://|(?<![^\W_])www(?=\.)|@)", re.IGNORECASE)
_JOINER = "\u2060"
_RISKY = re.compile(r"([\\`*\[\]<>$~|])")


def plain(text: object) -> str:
    """Return `text` escaped so that st.markdown, captions, labels and metrics show it literally.

    Right-to-left text (Hebrew, Arabic) is isolated from the sentence around it, which the browser's bidirectional
    ordering otherwise rearranged: a class "שלום עולם" with 6 images read "6 · שלום עולם images".
    """
    unlinked = _AUTOLINK.sub(lambda m: m.group(1)[0] + _JOINER + m.group(1)[1:], _SPACES.sub(" ", str(text)))
    escaped = _MARKDOWN.sub(r"\\\1", unlinked)
    if any(unicodedata.bidirectional(c) in ("R", "AL") for c in escaped):
        return f"\u2068{escaped}\u2069"  # first-strong isolate ... pop directional isolate
    return escaped


def sentence(text: object) -> str:
    """Return an error message that may quote typed names, with only what could link, fetch or style escaped.

    Links, images, colour directives, HTML, code, maths and bare addresses need one of these characters, so
    the sentence's own punctuation (quotes, dots, dashes, underscores in names like LIGHTBOX_HOME) stays as is.
    """
    unlinked = _AUTOLINK.sub(lambda m: m.group(1)[0] + _JOINER + m.group(1)[1:], str(text))
    return _RISKY.sub(r"\\\1", unlinked)


def chart_text(text: object) -> str:
    """Return `text` escaped for plotly labels, which read a few HTML tags (links among them)."""
    return html.escape(_SPACES.sub(" ", str(text)))


def count(n: int, noun: str) -> str:
    """Return '1 image' or '3 images', with thousands separated."""
    return f"{n:,} {noun if n == 1 else noun + 's'}"
