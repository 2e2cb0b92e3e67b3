from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from core import TrainConfig, TrainingError, build_model, input_spec_for, load_dataset
from core.lr_finder import LRFinderResult, find_lr


@pytest.fixture(scope="module")
def digits_train():
    return load_dataset("digits").split(0.2, seed=0)[0]


def _model(train, name: str = "cnn") -> nn.Module:
    torch.manual_seed(0)
    return build_model(name, input_spec_for(train))


def test_suggests_a_finite_rate_inside_the_sweep_and_leaves_the_model_alone(digits_train) -> None:
    model = _model(digits_train)
    before = {k: v.clone() for k, v in model.state_dict().items()}  # weights and batch-norm statistics
    rng_before = torch.random.get_rng_state()
    calls: list[tuple[int, int]] = []
    result = find_lr(model, digits_train, TrainConfig(), steps=60, progress=lambda i, n: calls.append((i, n)))
    assert isinstance(result, LRFinderResult)
    assert result.suggestion is not None and math.isfinite(result.suggestion)
    assert 1e-6 <= result.suggestion <= 1.0
    assert 1e-4 <= result.suggestion <= 1e-1  # Adam on digits learns well around 3e-3
    assert "falls fastest" in result.explanation
    assert len(result.lrs) == len(result.losses) > 10
    assert all(math.isfinite(v) for v in result.losses)
    assert result.lrs == sorted(result.lrs) and result.lrs[0] == pytest.approx(1e-6)
    assert min(result.losses) < result.losses[0] - 0.5  # it really trained the copy
    assert calls[0] == (1, 60) and len(calls) == len(result.lrs)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert torch.equal(torch.random.get_rng_state(), rng_before)


def test_a_sweep_into_huge_rates_stops_early(digits_train) -> None:
    result = find_lr(_model(digits_train, "simple"), digits_train, TrainConfig(), end_lr=100.0, steps=100)
    assert len(result.lrs) < 100
    assert result.losses[-1] > 4.0 * min(result.losses)
    assert result.suggestion is not None and result.suggestion < result.lrs[-1]
    assert "blow up" in result.explanation


def test_the_same_settings_give_the_same_curve(digits_train) -> None:
    a = find_lr(_model(digits_train, "simple"), digits_train, TrainConfig(), steps=40)
    b = find_lr(_model(digits_train, "simple"), digits_train, TrainConfig(), steps=40)
    assert a == b


class NanNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w * torch.full((len(x), 10), float("nan"))


def test_a_model_that_gives_nan_gets_no_suggestion_and_a_reason(digits_train) -> None:
    result = find_lr(NanNet(), digits_train, TrainConfig(), steps=20)
    assert result.suggestion is None
    assert result.lrs == [] and result.losses == []
    assert "not a finite number" in result.explanation


def test_a_flat_loss_gets_no_suggestion(digits_train) -> None:
    result = find_lr(_model(digits_train, "simple"), digits_train, TrainConfig(), start_lr=1e-9, end_lr=1e-8, steps=30)
    assert result.suggestion is None
    assert "barely changed" in result.explanation


def test_a_sweep_starting_too_high_gets_no_suggestion(digits_train) -> None:
    result = find_lr(
        _model(digits_train, "simple"), digits_train, TrainConfig(optimizer="sgd"), start_lr=50.0, end_lr=1e4
    )
    assert result.suggestion is None
    assert result.explanation


def test_impossible_sweeps_are_refused(digits_train) -> None:
    model = _model(digits_train, "simple")
    with pytest.raises(TrainingError, match="start rate"):
        find_lr(model, digits_train, TrainConfig(), start_lr=1.0, end_lr=1e-3)
    with pytest.raises(TrainingError, match="steps"):
        find_lr(model, digits_train, TrainConfig(), steps=1)
