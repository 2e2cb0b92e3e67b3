"""Names people type (classes, datasets, runs, files) reach every page and chart as text, never as markup."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict
from PIL import Image
from streamlit.testing.v1 import AppTest

from core import DataConfig, Prediction, RunConfig, RunStore, train_run
from core.data.registry import save_user_dataset
from dashboard.charts import class_counts_figure, confusion_figure, curves_figures, topk_figure
from dashboard.compare_charts import clickable_confusion_figure, ensemble_figure, pareto_figure
from dashboard.text import chart_text, plain
from tests.helpers import quick_config
from tests.helpers.markup import DATASET, EVIL_CLASSES, EVIL_RUN, evil_dataset
from tests.helpers.pages import APP, open_page

# Markup that must never reach Streamlit's Markdown unescaped: a link or image, raw HTML, bold, a colour
# directive, or a bare address (GFM links those even when escaped)
UNESCAPED = re.compile(r"(?<!\\)\]\(|(?<!\\)<img|(?<!\\)\*\*bold|(?<!\\):red\[|https?\\?:\\?/\\?/127")
# Fields that Streamlit shows as plain text (inputs' values, select options, file names), or that are not text
NOT_MARKDOWN = frozenset(
    {
        "options",
        "value",
        "default",
        "rawValues",
        "rawValue",  # a select box's choice set through session state, shown as plain text as its options are
        "fileName",
        "url",
        "id",
        "formId",
        "data",
        "spec",
        "htmlContent",
        "cssContent",
        "jsContent",  # the app's own component code, not text a person typed
        "json",  # the live camera's data: its script draws every name with textContent, never as markup
    }
)


@pytest.fixture
def evil(lightbox_home: Path) -> tuple[RunStore, list]:
    save_user_dataset(evil_dataset())
    store = RunStore(lightbox_home)
    runs = []
    for model in ("cnn", "simple"):
        cfg = quick_config(model, epochs=2)
        cfg = RunConfig(data=DataConfig(name=DATASET), model=cfg.model, train=cfg.train, name=EVIL_RUN)
        runs.append(train_run(cfg, store))
    return store, runs


def _strings(node: object, skip: frozenset[str] = frozenset()) -> list[str]:
    """Every string in a JSON-like tree, leaving out the values under keys in `skip`."""
    if isinstance(node, dict):
        return [s for k, v in node.items() if k not in skip for s in _strings(v, skip)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v, skip)]
    return [node] if isinstance(node, str) else []


def _elements(at) -> list:
    found, stack = [], [at._tree]
    while stack:
        node = stack.pop()
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            stack.extend(children.values())
        elif getattr(node, "proto", None) is not None:
            found.append(node)
    return found


def check_page(at) -> tuple[list[str], list[str]]:
    """Assert no unescaped markup in the page's Markdown and charts; return (markdown strings, chart JSON)."""
    assert not at.exception, at.exception
    texts, charts = [], []
    for element in _elements(at):
        proto = MessageToDict(element.proto)
        if "spec" in proto:  # a plotly chart: its figure as JSON
            charts.append(proto["spec"])
            continue
        radio = element.type == "radio"
        texts += _strings(proto, NOT_MARKDOWN) + (proto.get("options", []) if radio else [])
    bad = [t for t in texts if UNESCAPED.search(t)]
    assert not bad, bad
    for spec in charts:
        assert not _raw_html(json.loads(spec)), spec[:300]
    return texts, charts


def _raw_html(figure: object) -> list[str]:
    """The strings of a plotly figure that hold an HTML tag plotly would draw (a link) or keep (an image)."""
    return [s for s in _strings(figure) if re.search(r"<(img|a)\b", s, re.IGNORECASE)]


def _shown(texts: list[str], name: str) -> bool:
    return any(plain(name) in t for t in texts)


def test_data_page_shows_class_names_as_text(evil) -> None:
    at = open_page("data")
    at.selectbox(key="data_dataset").set_value(DATASET).run()
    texts, charts = check_page(at)
    assert all(_shown(texts, c) for c in EVIL_CLASSES)
    assert any(chart_text(EVIL_CLASSES[2]) in json.loads(s)["data"][0]["x"] for s in charts)


def test_train_page_shows_run_names_as_text(evil) -> None:
    at = open_page("train")
    check_page(at)


@pytest.mark.parametrize("view", ["Curves", "Which model?", "Mistakes", "Two models", "Ensemble"])
def test_compare_views_show_names_as_text(evil, view: str) -> None:
    at = open_page("compare")
    at.button_group(key="compare_view").set_value(view).run()
    texts, _ = check_page(at)
    if view in ("Curves", "Which model?"):
        assert _shown(texts, EVIL_RUN)
    if view == "Mistakes":
        assert any(_shown(texts, c) for c in EVIL_CLASSES)


def test_classify_and_fool_the_model_show_class_names_as_text(evil) -> None:
    _, runs = evil
    for page, key in (("classify", "classify_run"), ("attack", "attack_run")):
        at = open_page(page)
        at.selectbox(key=key).set_value(runs[0].id).run()
        if page == "classify":
            png = io.BytesIO()
            evil_dataset().to_pil(0).save(png, format="PNG")
            at.file_uploader(key="classify_upload").upload("![f](http:x).png", png.getvalue(), "image/png").run()
        texts, _ = check_page(at)
        assert any(_shown(texts, c) for c in EVIL_CLASSES), page


def test_teach_shows_class_names_as_text() -> None:
    from dashboard.resources import teach_examples

    png = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(png, format="PNG")
    classes = teach_examples().classes("markup-teach")  # the examples a visitor recorded, kept on the server
    classes.clear()
    classes.update({name: [png.getvalue()] for name in EVIL_CLASSES[:2]})
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lightbox_owner"] = "markup-teach"
    at.run()
    at.switch_page("../pages/teach.py")
    texts, _ = check_page(at.run())
    assert all(_shown(texts, c) for c in EVIL_CLASSES[:2])


def test_figures_escape_html_in_every_label() -> None:
    names = list(EVIL_CLASSES)
    figures = [
        class_counts_figure(names, [1, 2, 3, 4]),
        confusion_figure([[1] * 4] * 4, names),
        clickable_confusion_figure([[1] * 4] * 4, names),
        *curves_figures({EVIL_RUN + EVIL_CLASSES[2]: [{"epoch": 1, **dict.fromkeys(_METRICS, 0.5)}]}),
        pareto_figure(names, [1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4], "ms", ["cnn"] * 4),
        ensemble_figure(names, [0.1, 0.2, 0.3, 0.4]),
    ]
    for fig in figures:
        shown = json.loads(fig.to_json())
        assert not _raw_html(shown)
        assert any("&lt;img src=x" in t for t in _strings(shown))


_METRICS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")


def test_a_long_class_name_is_cut_on_the_axis_and_whole_on_hover() -> None:
    axis = class_counts_figure(["A" * 120, "<b>b</b>"], [3, 4]).layout.xaxis
    assert list(axis.ticktext) == ["A" * 19 + "…", "&lt;b&gt;b&lt;/b&gt;"] and axis.tickvals[0] == "A" * 120


def test_topk_bars_escape_labels() -> None:
    fig = topk_figure([Prediction(label=EVIL_CLASSES[2], probability=0.9, index=0)])
    assert list(fig.data[0].y) == ["&lt;img src=x onerror=alert(1)&gt;"]


def test_right_to_left_names_are_isolated_from_the_sentence_around_them() -> None:
    assert plain("שלום עולם") == "\u2068שלום עולם\u2069"  # "6 · שלום עולם images" before, in the browser's order
    assert plain("مرحبا") == "\u2068مرحبا\u2069" and plain("Class 1") == "Class 1"  # left-to-right: as it was


def test_plain_breaks_bare_addresses_that_gfm_would_link() -> None:
    for text in ("http://127.0.0.1:9/", "see www.example.com", "me@example.com"):
        shown = plain(text)
        assert not re.search(r"https?\\?:\\?/|www\\?\.|@\w", shown), shown
        assert re.sub(r"[\\\u2060]", "", shown) == text  # the reader sees the same characters
