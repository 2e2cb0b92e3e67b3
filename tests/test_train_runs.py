from __future__ import annotations

import threading
import time

import pytest
import torch

from core import Callback, Pace, RunStore, TrainingError, TrainState, load_dataset, train_run
from core.evaluation import predict_validation
from core.version import code_version
from tests.helpers import quick_config


def test_a_run_keeps_config_history_metrics_and_weights(store: RunStore) -> None:
    config = quick_config("cnn", epochs=2)
    run = train_run(config, store)
    assert run.status == "finished" and run.config == config
    assert [r["epoch"] for r in store.history(run.id)] == [1, 2]
    assert run.metrics["epochs_completed"] == 2 and 0.5 < run.metrics["val_accuracy"] <= 1
    assert run.fingerprint == load_dataset("digits").fingerprint()
    assert run.code_version == code_version() and run.params and run.device == "cpu"
    matrix = run.metrics["confusion_matrix"]
    n_val = len(load_dataset("digits").split(0.2, seed=0)[1])
    assert len(matrix) == 10 and sum(map(sum, matrix)) == n_val  # every validation image counted once
    state, meta = store.load_weights(run.id)
    assert meta["input_spec"]["classes"] == list("0123456789") and state


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"epochs": 1.5}, {"lr": "fast"}, {"batch_size": None}])
def test_bad_settings_leave_no_run_behind(store: RunStore, bad: dict) -> None:
    with pytest.raises(TrainingError, match="Cannot train: "):  # a sentence, not torch's TypeError mid-run
        train_run(quick_config(**bad), store)
    assert store.list_runs() == []


def test_a_stopped_run_is_kept_with_the_epochs_it_completed(store: RunStore) -> None:
    stop = threading.Event()

    class StopInEpochTwo(Callback):
        def on_batch_end(self, state: TrainState) -> None:
            if state.epoch == 2:
                stop.set()

    run = train_run(quick_config(epochs=5), store, [StopInEpochTwo()], stop)
    assert run.status == "stopped"
    assert len(store.history(run.id)) == 1 and run.metrics["epochs_completed"] == 1
    assert store.weights_path(run.id).is_file()
    kept = predict_validation(store, run.id)  # what Compare and an export measure: the weights kept, one batch on
    assert run.metrics["val_accuracy"] == pytest.approx(kept.accuracy, abs=1e-6)  # from epoch 1: another number
    assert run.metrics["val_loss"] == pytest.approx(kept.loss, rel=1e-4)
    assert run.metrics["val_accuracy"] <= run.metrics["best_val_accuracy"]  # never a last above the best


def test_a_crash_marks_the_run_failed_with_the_reason(store: RunStore) -> None:
    class Crash(Callback):
        def on_epoch_end(self, state: TrainState) -> None:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        train_run(quick_config(epochs=3), store, [Crash()])
    (run,) = store.list_runs()
    assert run.status == "failed" and "disk on fire" in (run.error or "")
    assert len(store.history(run.id)) == 1  # the epoch written before the crash survives


def test_an_interrupt_keeps_the_run_as_interrupted_with_its_epochs(store: RunStore) -> None:
    class CtrlC(Callback):  # a notebook's interrupt, or a second Ctrl-C on the command line
        def on_epoch_end(self, state: TrainState) -> None:
            if state.epoch == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_run(quick_config(epochs=4), store, [CtrlC()])
    (run,) = store.list_runs()
    assert run.status == "interrupted" and run.error == "Interrupted after 2 epochs (Ctrl-C)."  # not "failed"
    assert len(store.history(run.id)) == 2 and store.weights_path(run.id).is_file()


def _count_writes(monkeypatch: pytest.MonkeyPatch, seconds: float = 0.0) -> list[str]:
    """Record each checkpoint write, made to take at least `seconds` (a big model on a slow disk)."""
    writes: list[str] = []
    save = RunStore.save_weights

    def save_and_count(self: RunStore, run_id: str, state_dict: dict, meta: dict) -> object:
        time.sleep(seconds)
        writes.append(run_id)
        return save(self, run_id, state_dict, meta)

    monkeypatch.setattr(RunStore, "save_weights", save_and_count)
    return writes


def test_slow_checkpoints_are_spaced_out_and_the_last_one_is_the_trained_model(store, monkeypatch) -> None:
    writes = _count_writes(monkeypatch, seconds=0.3)  # next one after 2.7 s of training: 6 epochs take less
    final: dict[str, torch.Tensor] = {}

    class KeepFinal(Callback):
        def on_fit_end(self, state: TrainState) -> None:
            final.update({k: v.detach().clone() for k, v in state.model.state_dict().items()})

    run = train_run(quick_config("cnn", epochs=6), store, [KeepFinal()])
    assert [r["epoch"] for r in store.history(run.id)] == [1, 2, 3, 4, 5, 6]  # every epoch's row, at once
    assert 2 <= len(writes) < 6  # the first epoch's, then the final model's
    saved, _ = store.load_weights(run.id)
    assert saved.keys() == final.keys() and all(torch.equal(saved[k], final[k]) for k in final)


def test_epochs_longer_than_a_checkpoint_each_get_one(store, monkeypatch) -> None:
    writes = _count_writes(monkeypatch)
    train_run(quick_config("cnn", epochs=3), store, [Pace(0.3)])  # the Tour shows each epoch's checkpoint
    assert len(writes) == 3  # and none again after the last epoch: nothing changed since
