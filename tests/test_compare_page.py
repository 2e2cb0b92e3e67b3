"""The Compare page through the real entrypoint: filters, cost against accuracy, mistakes, two models, ensembles."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import RunStore, train_run
from dashboard.widgets import run_label
from tests.helpers import quick_config
from tests.helpers.pages import open_page, record_downloads


@pytest.fixture
def runs(copy_runs, lightbox_home: Path):
    simple, cnn = copy_runs("simple+cnn")  # a simple net for 2 epochs, then a CNN for 3
    return RunStore(lightbox_home), simple, cnn


def _view(at, name: str):
    at.button_group(key="compare_view").set_value(name).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_table_filters_and_curves(runs) -> None:
    _, simple, cnn = runs
    at = open_page("compare")
    table = at.dataframe[0].value
    assert set(table["name"]) == {simple.name, cnn.name}
    assert {"best epoch", "latency (ms)", "size (MB)"} <= set(table.columns)
    assert (table["latency (ms)"] > 0).all()
    assert len(at.multiselect(key="compare_runs").value) == 2
    assert len(at.get("plotly_chart")) == 2  # the overlaid curves: loss, accuracy
    at.multiselect(key="compare_f_model").set_value(["cnn"]).run()
    assert list(at.dataframe[0].value["model"]) == ["cnn"]
    assert at.multiselect(key="compare_runs").value == [cnn.id]
    at.text_input(key="compare_f_name").set_value("zzz").run()  # nothing matches: said, no empty table
    assert not at.exception and not at.dataframe and "No run matches these filters" in at.info[0].value


def test_which_model_plots_accuracy_against_latency_and_size(runs) -> None:
    at = _view(open_page("compare"), "Which model?")
    assert len(at.get("plotly_chart")) == 1
    assert any("Best trade-offs" in c.value for c in at.caption)  # the sidebar may add a warm-up caption after it
    at.button_group(key="compare_cost").set_value("size").run()
    assert not at.exception


@pytest.mark.slow
def test_an_int8_copy_is_compared_beside_its_original(runs) -> None:
    from core.quantize_runs import quantize_run

    store, _, cnn = runs
    int8 = quantize_run(store, cnn.id)
    at = open_page("compare")
    assert int8.name in set(at.dataframe[0].value["name"])  # it was left out of every view
    at.multiselect(key="compare_runs").set_value([cnn.id, int8.id]).run()
    for view in ("Which model?", "Mistakes", "Two models", "Ensemble", "Curves"):
        _view(at, view)
    at.multiselect(key="compare_runs").set_value([int8.id]).run()  # its one accuracy, not "0.00% at epoch -"
    (best,) = [c.value for c in at.caption if c.value.startswith("Highest validation accuracy")]
    assert f"({int8.metrics['val_accuracy']:.2%}, its weights as kept)" in best
    at = _view(at, "Code")
    at.selectbox(key="code_run").set_value(int8.id).run()
    assert any(f"the run it was made from ({cnn.id}) has one" in i.value for i in at.info)


def test_which_model_weighs_runs_of_one_dataset_only(runs) -> None:
    store, simple, cnn = runs
    shapes = train_run(quick_config("simple", epochs=1, dataset="shapes"), store)
    at = open_page("compare")
    at.multiselect(key="compare_runs").set_value([shapes.id, simple.id, cnn.id]).run()
    at = _view(at, "Which model?")
    assert "learned different datasets, whose accuracies do not compare" in at.info[0].value
    (chart,) = at.get("plotly_chart")  # the first picked run's dataset alone
    assert f"({shapes.id[-4:]})" in chart.proto.spec and f"({simple.id[-4:]})" not in chart.proto.spec


def test_older_runs_can_be_measured_from_the_page(runs) -> None:
    store, simple, _ = runs
    with store._connect() as con:  # a run recorded before latency was measured at the end of training
        con.execute(
            "UPDATE runs SET metrics = json_remove(metrics, '$.latency_ms', '$.size_mb') WHERE id = ?", (simple.id,)
        )
    at = _view(open_page("compare"), "Which model?")
    (measure,) = [b for b in at.button if b.label.startswith("Measure speed")]
    measure.click().run()
    assert not at.exception
    assert store.get_run(simple.id).metrics["latency_ms"] > 0


def test_mistakes_show_a_cell_top_losses_and_where_the_model_looked(runs) -> None:
    _, simple, _ = runs
    at = _view(open_page("compare"), "Mistakes")
    at.selectbox(key="mistakes_run").set_value(simple.id).run()
    report = at.dataframe[1].value
    assert list(report["class"]) == list("0123456789")
    assert report["images"].sum() == sum(map(sum, simple.metrics["confusion_matrix"]))
    true, pred = at.selectbox(key=f"mistake_true_{simple.id}"), at.selectbox(key=f"mistake_pred_{simple.id}")
    assert true.value != pred.value  # starts on the biggest mix-up
    true.set_value(3).run()
    at.selectbox(key=f"mistake_pred_{simple.id}").set_value(3).run()
    assert "of **3** called **3**" in " ".join(c.value for c in at.caption)
    captions = [img.caption for element in at.image for img in element.proto.imgs]
    assert sum(c.startswith("#") for c in captions) > 5  # the images of the chosen cell
    assert sum(c.startswith("true ") and " said " in c for c in captions) == 12  # the top losses


def test_grad_cam_on_top_losses_needs_convolutions(runs) -> None:
    _, simple, cnn = runs
    at = _view(open_page("compare"), "Mistakes")
    at.selectbox(key="mistakes_run").set_value(cnn.id).run()
    at.toggle(key=f"mistakes_cam_{cnn.id}").set_value(True).run()
    assert not at.exception and not at.error
    at.selectbox(key="mistakes_run").set_value(simple.id).run()
    assert at.toggle(key=f"mistakes_cam_{simple.id}").disabled  # offered only where it works: no red box
    assert any("fully connected" in c.value for c in at.caption) and not at.error


def test_two_models_and_an_ensemble(runs) -> None:
    at = _view(open_page("compare"), "Two models")
    assert [m.label for m in at.metric] == ["A accuracy", "B accuracy", "Only A right", "Only B right"]
    assert any("McNemar" in m.value for m in at.markdown)
    at = _view(at, "Ensemble")
    assert len(at.get("plotly_chart")) == 2  # members against the ensemble, its confusion matrix
    assert any("Ensemble:" in m.value for m in at.markdown)


@pytest.mark.slow
def test_runs_on_different_data_are_not_compared_image_by_image(runs) -> None:
    store, _, cnn = runs
    shapes = train_run(quick_config("cnn", epochs=1, dataset="shapes"), store)
    at = open_page("compare")
    at.multiselect(key="compare_runs").set_value([cnn.id, shapes.id]).run()
    at.button_group(key="compare_view").set_value("Two models").run()
    assert not at.exception
    assert "not validated on the same images" in at.error[0].value


def test_code_shows_each_runs_script_and_downloads_it(runs, monkeypatch: pytest.MonkeyPatch) -> None:
    _, simple, cnn = runs
    clicks = record_downloads(monkeypatch)
    at = _view(open_page("compare"), "Code")
    assert at.selectbox(key="code_run").options == [run_label(r) for r in (cnn, simple)]  # the chosen runs
    for run, net in ((simple, "class SimpleNet"), (cnn, "class SmallCNN")):
        at.selectbox(key="code_run").set_value(run.id).run()
        assert not at.exception and not at.error
        (code,) = at.code
        assert net in code.value and f"from run {run.id}" in code.value and "def train_one_epoch(" in code.value
        assert f"code_download_{run.id}" in [b.key for b in at.get("download_button")]
        file = clicks[f"train_{run.id}.py"]()  # built only now, as a click builds it
        assert (file.content.decode().rstrip("\n"), file.mimetype) == (code.value.rstrip("\n"), "text/x-python")
        compile(file.content, file.filename or "", "exec")  # a script Python reads
