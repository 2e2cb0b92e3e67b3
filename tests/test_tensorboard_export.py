"""TensorBoard event files of runs, read back with TensorBoard's own reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core import RunStore
from core.cli import main
from tests.helpers import trained_run

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
plugin_data_pb2 = pytest.importorskip("tensorboard.plugins.hparams.plugin_data_pb2")


def test_two_runs_as_event_files(capsys: pytest.CaptureFixture[str], store: RunStore, tmp_path: Path) -> None:
    runs = [trained_run(store, "simple", epochs=3), trained_run(store, "cnn", epochs=2)]
    out = tmp_path / "tb"
    assert main(["tensorboard", *(r.id for r in runs), "--out", str(out)]) == 0
    assert f"tensorboard --logdir {out}" in capsys.readouterr().out
    for run in runs:
        acc = event_accumulator.EventAccumulator(str(out / run.id), size_guidance={"images": 0, "scalars": 0})
        acc.Reload()
        tags = acc.Tags()
        assert {"train_loss", "val_loss", "val_accuracy", "lr"} <= set(tags["scalars"])
        history = store.history(run.id)
        values = [e.value for e in acc.Scalars("val_accuracy")]
        assert [e.step for e in acc.Scalars("val_accuracy")] == [int(r["epoch"]) for r in history]
        assert np.allclose(values, [r["val_accuracy"] for r in history], atol=1e-6)
        (image,) = acc.Images("confusion_matrix")
        assert image.width > 10 * 28 and image.encoded_image_string.startswith(b"\x89PNG")
        hparams = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
        start = plugin_data_pb2.HParamsPluginData.FromString(hparams).session_start_info
        assert start.hparams["train/lr"].number_value == run.config.train.lr
        assert start.hparams["model/name"].string_value == run.model


def test_an_unknown_run_is_one_sentence_and_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["tensorboard", "nope", "--out", str(tmp_path / "tb")]) == 2
    assert "There is no run 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "tb").exists()
