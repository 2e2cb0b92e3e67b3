"""Presenter mode: larger text and charts, fewer knobs, animated charts; kept in the URL (?presenter=1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import streamlit as st

from dashboard.reruns import asked_in_url, drop_from_url, redraw_page, set_in_url

if TYPE_CHECKING:
    import plotly.graph_objects as go  # plotly loads with the first chart, not with the first page
    from streamlit.delta_generator import DeltaGenerator

PARAM = "presenter"  # the query parameter: a prepared link opens the same view
_ON = "presenter_on"  # the setting, in session state (survives page switches that drop the URL's parameters)
_TOGGLE = "presenter_toggle"
FONT_SIZE = 18  # chart text in presenter mode (plotly's default is 12)
CSS = """<style>
.stMain p, .stMain li, .stMain label p, .stMain [data-testid="stCaptionContainer"] { font-size: 1.3rem; }
.stMain [data-testid="stSliderThumbValue"] p, .stMain [data-testid="stTickBar"] p { font-size: inherit; }
.stMain h1 { font-size: 3.2rem; }
.stMainBlockContainer { padding-top: 2.5rem; padding-bottom: 1rem; }
.stAppHeader { background: transparent; pointer-events: none; }  /* over the slide's top row: see and click through */
.stAppHeader button, .stAppHeader [data-testid="stStatusWidget"] { pointer-events: auto; }
.stMain h2, .stMain h3 { font-size: 2.2rem; }
.stMain [data-testid="stMetricValue"], .stMain [data-testid="stMetricValue"] p { font-size: 3rem; }
/* an answer too long for its column wraps instead of ending in "..." ("jack-o'-lantern" at 1024 x 768) */
.stMain [data-testid="stMetricValue"] * { white-space: normal; overflow-wrap: break-word; line-height: 1.15; }
.stMain .st-key-slide_keys { display: none; }
/* a page link or a checkbox's words wrap on a narrow screen ("Fool a photo model on the Fool the m" on a phone) */
.stMain [data-testid="stPageLink-NavLink"] *, .stMain [data-testid="stCheckbox"] label * { white-space: normal; }
</style>"""
# A clicker sends PageDown/PageUp, a keyboard the arrows; keys meant for a focused control are left alone.
# Each key sends the slide to show, not "one more": a key event that reaches the server twice shows the same
# slide instead of skipping one (the Tour's presenter test once saw one PageDown move two slides while step 2's
# live chart reran). Presses faster than the page redraws count on from the last slide sent. A slide asked for
# and not shown after RETRY_MS is asked for again (twice at most): Streamlit drops a press that the browser sent
# together with a camera frame whose fragment the page had just removed (slide 4's camera, a second press on a
# busy server: 1 time in 16-20, the Tour then stayed on slide 5).
_KEYS_JS = """
const STEP = { PageDown: 1, ArrowRight: 1, PageUp: -1, ArrowLeft: -1 };
const RETRY_MS = 1500;
const CONTROLS = "input, textarea, select, button[role=tab], [contenteditable=''], [contenteditable=true], " +
  "[role=slider], [role=spinbutton], [role=combobox], [role=listbox], [role=option], [role=radio], [role=menuitem]";

export default function ({ parentElement, data, setTriggerValue }) {
  const root = parentElement.querySelector(".lightbox-keys");
  const s = root.__keys || (root.__keys = { gen: 0 });
  s.send = setTriggerValue;
  s.last = data.last;
  if (data.step !== s.shown) {
    s.shown = data.step;
    if (s.asked === undefined || s.asked === data.step) { s.at = data.step; s.asked = undefined; }
  }
  if (!s.onKey) {
    s.check = () => { // the slide asked for is not on screen yet: ask again, or give up and count from the screen
      if (s.asked === undefined || s.asked === s.shown || s.tries >= 2) { s.asked = undefined; s.at = s.shown; return; }
      s.tries += 1;
      s.send("go", s.asked);
      clearTimeout(s.timer);
      s.timer = setTimeout(s.check, RETRY_MS);
    };
    s.onKey = (e) => {
      const step = STEP[e.key];
      const target = e.composedPath()[0];
      if (!step || e.repeat || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
      if (target instanceof Element && (target.closest(CONTROLS) || target.isContentEditable)) return;
      e.preventDefault(); // PageDown would scroll the page as well
      const to = Math.min(Math.max(s.at + step, 1), s.last);
      if (to === s.at) return;
      s.at = to;
      s.asked = to;
      s.tries = 0;
      s.send("go", to);
      clearTimeout(s.timer);
      s.timer = setTimeout(s.check, RETRY_MS);
    };
    document.addEventListener("keydown", s.onKey);
  }
  const gen = ++s.gen;
  return () => setTimeout(() => { // only when the element goes, not when a newer call overtook this one
    if (s.gen === gen && !root.isConnected) {
      document.removeEventListener("keydown", s.onKey);
      clearTimeout(s.timer);
      s.onKey = null;
    }
  }, 300);
}
"""
_keys = st.components.v2.component("lightbox_slide_keys", html='<span class="lightbox-keys"></span>', js=_KEYS_JS)


def is_on() -> bool:
    """Say whether presenter mode is on for this session."""
    return bool(st.session_state.get(_ON, False))


def advanced_visible() -> bool:
    """Say whether to draw advanced controls (hidden in presenter mode)."""
    return not is_on()


def _write_url(on: bool) -> None:
    if on:
        set_in_url(PARAM, "1")
    else:
        drop_from_url(PARAM)


def _toggled() -> None:
    st.session_state[_ON] = bool(st.session_state[_TOGGLE])
    _write_url(st.session_state[_ON])


def presenter_ui() -> None:
    """Draw the sidebar toggle, keep the setting and the URL in step, and restyle the page when it is on.

    A prepared link or a reload sets the mode from the URL. A rerun brings the address the browser showed when
    it sent it (a camera frame sent just before the toggle, say): a value this session already had is an echo,
    and the toggle stands.
    """
    url = asked_in_url(PARAM)
    if url is not None:  # a prepared link or a reload: the URL decides
        st.session_state[_ON] = url not in ("0", "", "false", "off")
    if is_on() != (st.query_params.get(PARAM) == "1"):  # a page switch dropped it, or an echo brought it back
        _write_url(is_on())
    st.session_state[_TOGGLE] = is_on()
    st.sidebar.toggle(
        "Presenter mode",
        key=_TOGGLE,
        on_change=_toggled,
        help="Larger text and charts, advanced controls hidden, for a projector. Copy the URL to open it this way.",
    )
    if is_on():
        st.html(CSS)


def slide_keys(step: int, last: int, go: Callable[[int], None]) -> None:
    """Let a presenter's clicker (PageDown, PageUp) or the arrow keys call `go(n)` with the slide to show.

    `step` is the slide on screen and `last` the number of slides; keys never go past the first or the last.
    """

    def pressed() -> None:
        to = (st.session_state.get("slide_keys") or {}).get("go")  # a JSON number
        if isinstance(to, int | float) and to == int(to) and 1 <= to <= last:
            go(int(to))
            redraw_page()  # a key sent with a camera frame: the frame's fragment may be gone

    _keys(key="slide_keys", data={"step": step, "last": last}, on_go_change=pressed)


def figure(fig: go.Figure) -> go.Figure:
    """Return the figure with larger text and animated updates in presenter mode (unchanged otherwise)."""
    if is_on():
        enlarge_text(fig)
        # same height: larger text, not taller charts, so each Tour slide still fits a 1280x720 projector
        fig.update_layout(transition={"duration": 500, "easing": "cubic-in-out"})
    return fig


def show_chart(fig: go.Figure, container: DeltaGenerator | None = None, **kwargs: Any) -> Any:
    """Draw a chart with st.plotly_chart (or `container.plotly_chart`), sized for presenter mode when it is on:
    every chart goes through here, so none is left at a projector's unreadable 12 px. Returns what Streamlit
    returns (a selection, with `on_select`)."""
    return (container or st).plotly_chart(figure(fig), **kwargs)


def enlarge_text(fig: go.Figure, size: int = FONT_SIZE) -> go.Figure:
    """Set every text of the figure to `size` px: ticks, axis titles, legend, subplot titles and value labels."""
    # Streamlit's chart theme replaces the layout font, so each text that shows gets its size by name
    fig.update_layout(font_size=size, legend_font_size=size, hoverlabel_font_size=size, title_font_size=size)
    fig.update_xaxes(tickfont_size=size, title_font_size=size)
    fig.update_yaxes(tickfont_size=size, title_font_size=size)
    fig.update_annotations(font_size=size)
    for trace in fig.data:
        if "textfont" in trace:  # bar and heatmap value labels
            trace.textfont.size = size
    return fig
