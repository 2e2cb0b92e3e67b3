"""Validation predictions, mistakes, McNemar, ensembles and measured speed on real trained runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import core.evaluation
from core import LightboxError, ModelConfig, RunStore, train_run
from core.cache import LoadCache
from core.evaluation import (
    ValidationPredictions,
    check_same_validation,
    ensemble,
    mcnemar,
    pareto_front,
    predict_validation,
    speed_and_size,
    speed_metrics,
)
from core.models.registry import build_model
from core.prepare import InputSpec
from tests.helpers import quick_config


@pytest.fixture(scope="module")
def two_runs(run_library, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    simple, cnn = run_library.copy_into("simple+cnn", home)  # a simple net for 2 epochs, then a CNN for 3
    return RunStore(home), cnn, simple


def test_validation_predictions_match_the_recorded_metrics(two_runs) -> None:
    store, cnn, _ = two_runs
    vp = predict_validation(store, cnn.id)
    assert vp.probabilities.shape == (len(vp.labels), 10)
    np.testing.assert_allclose(vp.probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert vp.accuracy == pytest.approx(cnn.metrics["val_accuracy"], abs=1e-6)
    assert vp.confusion().tolist() == cnn.metrics["confusion_matrix"]


def test_cells_and_top_losses_pick_the_right_images() -> None:
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.99, 0.01], [0.3, 0.7]], dtype=np.float32)
    vp = ValidationPredictions("m", ("a", "b"), probs, np.array([0, 0, 1, 1, 1]))
    assert vp.cell(0, 1).tolist() == [1]
    assert vp.cell(1, 0).tolist() == [2, 3]
    assert vp.cell(1, 1).tolist() == [4]
    # wrong: 1 (true p .2), 2 (.4), 3 (.01) -> most confidently wrong first
    assert vp.top_losses(2).tolist() == [3, 1]
    assert vp.confusion().tolist() == [[1, 1], [2, 1]]


@pytest.mark.parametrize(("only_a", "only_b"), [(10, 2), (0, 7), (3, 3), (40, 20), (0, 0)])
def test_mcnemar_matches_the_textbook(only_a: int, only_b: int) -> None:
    a = [True] * only_a + [False] * only_b + [True] * 50 + [False] * 5
    b = [False] * only_a + [True] * only_b + [True] * 50 + [False] * 5
    from scipy import stats  # the textbook's numbers; half a second to import, for this test alone

    result = mcnemar(a, b)
    assert (result.only_a, result.only_b, result.both_right, result.both_wrong) == (only_a, only_b, 50, 5)
    n = only_a + only_b
    if n <= 50:
        expected = stats.binomtest(only_a, n, 0.5).pvalue if n else 1.0
        assert result.method == "exact binomial"
    else:
        expected = stats.chi2.sf((abs(only_a - only_b) - 1) ** 2 / n, df=1)
    assert result.p_value == pytest.approx(expected, rel=1e-9)
    assert result.significant() == (expected < 0.05)


def test_ensemble_of_identical_models_equals_the_model(two_runs) -> None:
    store, cnn, simple = two_runs
    vp = predict_validation(store, cnn.id)
    same = ensemble([vp, vp])
    np.testing.assert_allclose(same.probabilities, vp.probabilities, atol=1e-7)
    assert same.accuracy == vp.accuracy
    mixed = ensemble([vp, predict_validation(store, simple.id)])
    assert mixed.probabilities.shape == vp.probabilities.shape
    with pytest.raises(LightboxError, match="at least two"):
        ensemble([vp])


@pytest.mark.slow
def test_runs_on_other_data_cannot_be_compared_image_by_image(two_runs, lightbox_home) -> None:
    store, cnn, _ = two_runs
    shapes = train_run(quick_config("cnn", epochs=1, dataset="shapes"), store)
    check_same_validation([cnn, cnn])
    with pytest.raises(LightboxError, match="same images"):
        check_same_validation([cnn, shapes])


def test_a_run_whose_dataset_was_deleted_says_so(lightbox_home: Path, tmp_path: Path) -> None:
    from core import delete_user_dataset, import_dataset
    from tests.helpers.datasets import make_tree

    import_dataset("mine", make_tree(tmp_path / "tree", per_class=6), image_size=16)
    store = RunStore(lightbox_home)
    run = train_run(quick_config("simple", epochs=1, dataset="mine"), store)
    delete_user_dataset("mine")
    with pytest.raises(LightboxError, match="'mine', a dataset deleted since, so its validation images are gone"):
        predict_validation(store, run.id)  # not "Unknown dataset 'mine'. Choose one of: ..."


def test_training_records_latency_and_size_and_old_runs_can_be_measured(two_runs) -> None:
    store, cnn, _ = two_runs
    assert cnn.metrics["latency_ms"] > 0
    assert cnn.metrics["size_mb"] == pytest.approx(store.weights_path(cnn.id).stat().st_size / 1e6, rel=1e-3)
    found = speed_and_size(store, cnn.id)
    after = store.get_run(cnn.id).metrics
    assert after["latency_ms"] == found["latency_ms"] > 0
    assert after["val_accuracy"] == cnn.metrics["val_accuracy"]  # other metrics kept


def test_pareto_front_keeps_only_models_nothing_beats() -> None:
    latency = [1.0, 2.0, 3.0, 0.5, 2.5, 2.0]
    accuracy = [0.90, 0.95, 0.97, 0.80, 0.94, 0.93]
    # 4 (2.5 ms, 94%) loses to 1 (2.0 ms, 95%); 5 ties 1 on speed but is less accurate
    assert pareto_front(latency, accuracy) == [3, 0, 1, 2]
    assert pareto_front([], []) == []


def test_cli_evaluates_two_runs_head_to_head_and_together(two_runs, capsys) -> None:
    from core.cli import main

    store, cnn, simple = two_runs
    assert main(["--home", str(store.home), "evaluate", cnn.id, simple.id]) == 0
    out = capsys.readouterr().out
    assert f"{cnn.id}\taccuracy: {cnn.metrics['val_accuracy']:.4f}" in out
    assert "mcnemar: only_first_right:" in out and "ensemble\taccuracy:" in out
    assert main(["--home", str(store.home), "evaluate", "no-such-run"]) == 2
    assert "error:" in capsys.readouterr().err


def test_the_compare_page_calls_a_difference_real_exactly_when_mcnemar_does() -> None:
    from core.evaluation import McNemarResult
    from dashboard.compare_views import _significance_sentence

    for p_value in (0.01, 0.049, 0.05, 0.2):
        test = McNemarResult(50, 9, 1, 5, p_value, "exact binomial")
        sentence = _significance_sentence("A", "B", 0.9, 0.8, test)
        assert ("unlikely to be luck" in sentence) == test.significant() == (p_value < 0.05)
        assert f"{p_value:.1%}" in sentence
    tiny = _significance_sentence("A", "B", 0.99, 0.5, McNemarResult(50, 40, 0, 5, 1e-12, "exact binomial"))
    assert "less than 0.1% of the time" in tiny  # not "0.0% of the time"
    same = _significance_sentence("A", "B", 0.9, 0.9, McNemarResult(90, 0, 0, 10, 1.0, "exact binomial"))
    assert "exactly the same images" in same  # not "would happen 100.0% of the time"


def test_latency_is_measured_once_per_architecture_whatever_the_weights(tmp_path: Path, monkeypatch) -> None:
    measured: list[int] = []
    measure = core.evaluation.measure_latency
    monkeypatch.setattr(core.evaluation, "_LATENCIES", LoadCache(max_entries=64))  # none measured earlier here
    monkeypatch.setattr(core.evaluation, "measure_latency", lambda m, s: measured.append(1) or measure(m, s))
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"x" * 1000)

    def spec(classes: int, size: int = 28) -> InputSpec:
        return InputSpec(1, size, size, tuple(map(str, range(classes))), (0.5,), (0.25,))

    first = speed_metrics(build_model(ModelConfig("cnn"), spec(10)), spec(10), weights)
    again = speed_metrics(build_model(ModelConfig("cnn"), spec(10)), spec(10), weights)  # other random weights
    assert len(measured) == 1 and again == first and first["latency_ms"] > 0 and first["size_mb"] == 0.001
    speed_metrics(build_model(ModelConfig("cnn"), spec(3)), spec(3), weights)  # another head
    speed_metrics(build_model(ModelConfig("cnn"), spec(10, 32)), spec(10, 32), weights)  # another input size
    assert len(measured) == 3
