"""Mixed precision: bf16 trains on the CPU, unsupported combinations are sentences, configs keep precision."""

from __future__ import annotations

import pytest

from core import RunConfig, RunStore, TrainConfig, TrainingError, UnknownNameError, train_run
from core.cli import main
from core.devices import PRECISIONS, supported_precisions, training_device
from dashboard.tables import runs_table
from tests.helpers import quick_config
from tests.helpers.pages import open_page


@pytest.mark.slow
def test_bf16_autocast_on_cpu_trains_digits_and_records_precision(store: RunStore) -> None:
    run = train_run(quick_config(epochs=3, device="cpu", precision="bf16"), store)
    assert run.status == "finished"
    assert run.metrics["val_accuracy"] > 0.9  # fp32 reaches about 0.98 in 3 epochs
    assert run.config.train.precision == "bf16" and run.device == "cpu"
    assert run.metrics["world_size"] == 1
    table = runs_table([run])
    assert table.column("precision").to_pylist() == ["bf16"] and table.column("device").to_pylist() == ["cpu"]


def test_cpu_offers_fp32_and_bf16_only() -> None:
    assert supported_precisions("cpu") == ["fp32", "bf16"]
    assert set(supported_precisions("auto")) <= set(PRECISIONS)


def test_fp16_on_cpu_is_a_clear_training_error_and_records_no_run(store: RunStore) -> None:
    with pytest.raises(TrainingError, match=r"Precision fp16 does not work on the CPU\. Choose one of: fp32, bf16\."):
        train_run(quick_config(device="cpu", precision="fp16"), store)
    assert store.list_runs() == []


def test_an_unknown_precision_names_the_choices() -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown precision 'fp8'\. Choose one of: fp32, bf16, fp16"):
        training_device("cpu", "fp8")


def test_cli_rejects_fp16_on_cpu_with_a_sentence(capsys: pytest.CaptureFixture[str], lightbox_home) -> None:
    code = main(["--home", str(lightbox_home), "train", "--device", "cpu", "--precision", "fp16", "--epochs", "1"])
    assert code == 2
    assert "Precision fp16 does not work on the CPU" in capsys.readouterr().err


def test_precision_survives_a_config_round_trip() -> None:
    config = quick_config(precision="bf16")
    assert RunConfig.from_dict(config.to_dict()) == config
    assert RunConfig.from_dict(config.to_dict()).train.precision == "bf16"


def test_a_config_saved_before_precision_existed_loads_as_fp32() -> None:
    old = quick_config().to_dict()
    del old["train"]["precision"]
    assert RunConfig.from_dict(old).train.precision == "fp32"
    assert TrainConfig.from_dict({"epochs": 3, "retired_option": 1}) == TrainConfig(epochs=3)


def test_train_page_offers_only_the_precisions_this_machine_has() -> None:
    at = open_page("train")
    precision = at.selectbox(key="train_precision")
    assert precision.options == ["fp32 (full)", "bf16 (mixed)"]  # a CPU-only machine: no fp16
    precision.set_value("bf16").run()
    assert not at.exception and at.selectbox(key="train_precision").value == "bf16"
