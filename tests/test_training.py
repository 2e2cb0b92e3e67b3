from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

import core.training
from core import (
    SCHEDULES,
    Callback,
    InputSpec,
    TrainConfig,
    TrainingError,
    TrainState,
    UnknownNameError,
    build_model,
    fit,
    input_spec_for,
    load_dataset,
    schedule_curve,
)
from core.callbacks import EVENTS, HISTORY_COLUMNS, StopTraining
from core.data.shapes import generate_shapes
from core.training import evaluate


@pytest.fixture(scope="module")
def digits_split():
    return load_dataset("digits").split(0.2, seed=0)


def _model(train, name: str = "cnn") -> nn.Module:
    torch.manual_seed(0)
    return build_model(name, input_spec_for(train))


class Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[str] = []

    def on_fit_start(self, state: TrainState) -> None:
        self.events.append("fit_start")

    def on_epoch_start(self, state: TrainState) -> None:
        self.events.append("epoch_start")

    def on_batch_end(self, state: TrainState) -> None:
        self.events.append("batch_end")

    def on_epoch_end(self, state: TrainState) -> None:
        self.events.append("epoch_end")

    def on_fit_end(self, state: TrainState) -> None:
        self.events.append("fit_end")


def test_two_epoch_fit_learns_and_records_history(digits_split) -> None:
    train, val = digits_split
    model = _model(train)
    loss_before, _ = evaluate(model, val)
    rec = Recorder()
    result = fit(model, train, val, TrainConfig(epochs=2, batch_size=128), [rec])
    assert not result.stopped and len(result.history) == 2
    assert set(HISTORY_COLUMNS) <= set(result.history.rows[0])
    assert result.history.last["val_loss"] < loss_before
    assert result.history.last["val_accuracy"] > 0.5
    batches = -(-len(train) // 128)
    assert rec.events == ["fit_start"] + (["epoch_start"] + ["batch_end"] * batches + ["epoch_end"]) * 2 + ["fit_end"]
    assert set(rec.events) == set(EVENTS)


def test_default_settings_reach_95_percent_on_digits(digits_split) -> None:
    train, val = digits_split
    result = fit(_model(train), train, val, TrainConfig())
    assert result.history.last["val_accuracy"] >= 0.95


def test_stop_event_ends_training_within_one_batch(digits_split) -> None:
    train, val = digits_split
    stop = threading.Event()

    class StopAfterThree(Callback):
        def on_batch_end(self, state: TrainState) -> None:
            if state.images_seen >= 3 * 32:
                stop.set()

    rec = Recorder()
    result = fit(_model(train), train, val, TrainConfig(epochs=5, batch_size=32), [StopAfterThree(), rec], stop)
    assert result.stopped
    assert rec.events.count("batch_end") == 3
    assert rec.events[-1] == "fit_end" and len(result.history) == 0


def test_a_callback_can_stop_training(digits_split) -> None:
    train, val = digits_split

    class StopAtEpochTwo(Callback):
        def on_epoch_end(self, state: TrainState) -> None:
            if state.epoch == 2:
                raise StopTraining()

    result = fit(_model(train), train, val, TrainConfig(epochs=6), [StopAtEpochTwo()])
    assert result.stopped and len(result.history) == 2


def test_diverging_loss_is_a_clear_error(digits_split) -> None:
    train, val = digits_split

    class Exploding(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.w * torch.full((len(x), 10), float("nan"))

    with pytest.raises(TrainingError, match="lower the learning rate"):
        fit(Exploding(), train, val, TrainConfig(epochs=1))


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"epochs": 0}, "epochs"), ({"lr": -1.0}, "learning rate"), ({"batch_size": 0}, "batch size")],
)
def test_impossible_settings_are_refused(digits_split, settings: dict, message: str) -> None:
    train, val = digits_split
    with pytest.raises(TrainingError, match=message):
        fit(_model(train), train, val, TrainConfig(**settings))


def test_unknown_optimizer_and_device(digits_split) -> None:
    train, val = digits_split
    with pytest.raises(UnknownNameError, match="sgd, adam, adamw"):
        fit(_model(train), train, val, TrainConfig(optimizer="rmsprop"))
    with pytest.raises(UnknownNameError):
        fit(_model(train), train, val, TrainConfig(device="tpu"))


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_every_optimizer_trains(digits_split, optimizer: str) -> None:
    train, val = digits_split
    lr = 0.05 if optimizer == "sgd" else 3e-3
    result = fit(_model(train, "simple"), train, val, TrainConfig(epochs=2, optimizer=optimizer, lr=lr))
    assert result.history.last["val_accuracy"] > 0.5


def test_input_spec_describes_the_training_images(digits_split) -> None:
    train, _ = digits_split
    spec = input_spec_for(train)
    assert (spec.channels, spec.height, spec.width) == (1, 8, 8)
    assert spec.classes == tuple("0123456789") and spec.dark_background
    assert InputSpec.from_dict(spec.to_dict()) == spec


def test_onecycle_rate_rises_then_falls_and_matches_its_curve(digits_split) -> None:
    train, val = digits_split
    cfg = TrainConfig(epochs=10, batch_size=256, lr=0.01, schedule="onecycle")
    result = fit(_model(train, "simple"), train, val, cfg)
    lrs = result.history.column("lr")
    peak = lrs.index(max(lrs))
    assert 0 < peak < len(lrs) - 1
    assert lrs[: peak + 1] == sorted(lrs[: peak + 1]) and lrs[peak:] == sorted(lrs[peak:], reverse=True)
    batches = -(-len(train) // cfg.batch_size)
    curve = schedule_curve(cfg, batches)
    assert len(curve) == cfg.epochs * batches
    assert max(curve) == pytest.approx(cfg.lr, rel=0.01) and curve[0] < cfg.lr / 10 and curve[-1] < cfg.lr / 1000
    assert lrs[:-1] == pytest.approx([curve[e * batches] for e in range(1, cfg.epochs)])  # the rate for the next step


def test_constant_schedule_is_flat_and_unknown_schedules_are_refused(digits_split) -> None:
    train, val = digits_split
    assert schedule_curve(TrainConfig(epochs=2, lr=0.02), 3) == [0.02] * 6
    with pytest.raises(UnknownNameError, match=", ".join(SCHEDULES)):
        fit(_model(train), train, val, TrainConfig(schedule="cosine"))


def test_light_augmentation_still_learns_digits(digits_split) -> None:
    train, val = digits_split
    result = fit(_model(train), train, val, TrainConfig(epochs=4, augment="light"))
    assert result.history.last["val_accuracy"] > 0.8


def test_augmentation_changes_training_but_never_mirrors_digits(digits_split, monkeypatch) -> None:
    train, val = digits_split
    seen: list[bool] = []
    real = core.training.augment_batch

    def spy(images: torch.Tensor, preset: str, generator: torch.Generator, flip: bool = True) -> torch.Tensor:
        seen.append(flip)
        return real(images, preset, generator, flip)

    monkeypatch.setattr(core.training, "augment_batch", spy)
    plain = fit(_model(train, "simple"), train, val, TrainConfig(epochs=1))
    light = fit(_model(train, "simple"), train, val, TrainConfig(epochs=1, augment="light"))
    assert plain.history.last["train_loss"] != light.history.last["train_loss"]
    assert seen and not any(seen)  # digits are ink on a dark ground: a mirrored 3 is not a 3
    seen.clear()
    shapes_train, shapes_val = generate_shapes(samples=50, image_size=8, seed=0).split(0.2, seed=0)
    fit(_model(shapes_train, "simple"), shapes_train, shapes_val, TrainConfig(epochs=1, augment="light"))
    assert seen and all(seen)  # a mirrored star is still a star


def test_shuffled_batches_visit_every_image_once_and_can_drop_a_short_last_batch() -> None:
    from core.training import shuffled_batches

    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2).contiguous()  # (10, 1, 2, 2)
    labels = torch.arange(10)
    batches = list(shuffled_batches(images, labels, 4, torch.Generator().manual_seed(0), "none", False))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    seen = torch.cat([y for _, y in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))  # all, shuffled
    for x, y in batches:  # floats in [0, 1], still paired with their labels
        assert x.dtype == torch.float32 and torch.equal(x[:, 0, 0, 0] * 255, y.float())
    kept = list(shuffled_batches(images, labels, 4, torch.Generator().manual_seed(0), "none", False, drop_last=True))
    assert [len(y) for _, y in kept] == [4, 4]
    features = torch.rand(3, 5)  # cached features pass through untouched, and a short set is one batch
    ((x, y),) = shuffled_batches(features, labels[:3], 4, torch.Generator(), "light", True, drop_last=True)
    assert torch.equal(x, features[y])
