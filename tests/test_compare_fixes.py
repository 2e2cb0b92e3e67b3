"""Compare's rough edges: runs of one dataset by default, readable matrices, distinct ticks, labels on the chart."""

from __future__ import annotations

from pathlib import Path

from core import DataConfig, RunConfig, RunStore, train_run
from dashboard.charts import confusion_figure
from dashboard.compare_charts import clickable_confusion_figure, ensemble_figure, pareto_figure
from tests.helpers import quick_config
from tests.helpers.pages import open_page


def test_confusion_matrices_are_readable_and_unpadded() -> None:
    assert confusion_figure([[5, 1], [2, 6]], ["a", "b"]).layout.height >= 300  # not a strip for 2 classes
    fig = clickable_confusion_figure([[1] * 10] * 10, list("0123456789"))
    assert tuple(fig.layout.xaxis.range) == (-0.5, 9.5) and tuple(fig.layout.yaxis.range) == (9.5, -0.5)


def test_which_model_ticks_are_distinct_and_ensemble_labels_stay_inside() -> None:
    fig = pareto_figure(["a", "b", "c"], [1, 2, 3], [0.99, 0.995, 1.0], "ms", ["cnn"] * 3)
    assert fig.layout.yaxis.tickformat in (".1%", ".2%")
    ensemble = ensemble_figure(["a", "ensemble"], [0.99, 1.0]).data[0]
    assert ensemble.textposition == "inside" and ensemble.orientation == "h" and ensemble.y[-1] == "a"  # on top
    latency = pareto_figure(["a", "b"], [0.0226, 0.145], [0.97, 0.99], "latency (ms)", ["cnn"] * 2).layout.xaxis
    assert list(latency.ticktext) == ["0.02", "0.05", "0.1", "0.2"]  # 0.02 ms read "2"
    assert latency.title.text == "latency (ms), log scale: left is cheaper"
    alike = pareto_figure(["a", "b"], [1, 2], [0.994, 0.994], "ms", ["cnn"] * 2).layout.yaxis.range
    assert alike[0] > 0.98 and alike[1] < 1.01  # plotly's own range around equal runs went to 150%


def test_runs_box_defaults_to_one_dataset_and_a_filter_never_empties_it(lightbox_home: Path) -> None:
    store = RunStore(lightbox_home)
    digits = train_run(quick_config("simple", epochs=1), store)
    shapes_cfg = quick_config("cnn", epochs=1)
    shapes = train_run(
        RunConfig(DataConfig("shapes", samples=60, image_size=16), shapes_cfg.model, shapes_cfg.train), store
    )
    at = open_page("compare")
    assert at.multiselect(key="compare_runs").value == [shapes.id]  # the newest run's dataset only
    at.multiselect(key="compare_f_data").set_value(["digits"]).run()
    assert at.multiselect(key="compare_runs").value == [digits.id]
    at.button_group(key="compare_view").set_value("Mistakes").run()
    assert not at.exception, at.exception
    assert at.toggle(key=f"mistakes_cam_{digits.id}").disabled  # a fully connected net has no Grad-CAM
    assert not at.error
