"""The Data page's map of the images, its copies check, and a standard dataset before and after its files exist."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from tests.helpers.datasets import write_mnist
from tests.helpers.pages import button, open_page


def _points(trace: dict) -> int:
    """Return how many dots a trace draws (plotly sends numpy arrays as base64 typed arrays)."""
    x = trace["x"]
    return len(np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"])) if isinstance(x, dict) else len(x)


def _map_traces(at) -> list[dict]:
    (chart,) = [c for c in at.get("plotly_chart") if "data_map_chart" in c.proto.id]
    return json.loads(chart.proto.spec)["data"]


@pytest.mark.slow
def test_data_page_draws_the_map_and_finds_copies() -> None:
    at = open_page("data")
    charts = len(at.get("plotly_chart"))
    button(at, "Draw the map").click().run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == charts + 1
    traces = _map_traces(at)
    assert [t["name"] for t in traces] == [str(d) for d in range(10)]  # one colour per digit
    assert sum(_points(t) for t in traces) == 1797
    assert "class %{customdata[1]}" in traces[0]["hovertemplate"]

    at.segmented_control(key="data_map_method").set_value("tsne").run()
    assert not at.exception
    assert sum(_points(t) for t in _map_traces(at)) == 600  # t-SNE maps a sample

    images = len(at.image)
    button(at, "Look for copies").click().run()
    assert not at.exception
    found = {m.label: m.value for m in at.metric}
    assert found["Exact copies"].isdigit() and found["Near copies"].isdigit()
    copies = int(found["Exact copies"]) + int(found["Near copies"])
    assert len(at.image) == images + (1 if copies else 0)
    assert bool(copies) != bool([s for s in at.success if "No validation image" in s.value])


def test_a_standard_dataset_says_it_needs_a_download_then_loads_once_its_files_exist() -> None:
    at = open_page("data")
    at.selectbox(key="data_dataset").set_value("mnist").run()
    assert not at.exception and not at.error
    notes = [n.value for n in [*at.info, *at.warning]]
    assert any("MNIST digits is not on this machine yet" in n and "12 MB" in n for n in notes)
    assert not at.metric  # the page stops before loading

    write_mnist()
    at.run()
    assert not at.exception and not at.error
    assert [m.value for m in at.metric][:4] == ["30", "10", "28 x 28 px", "1 (grey)"]
