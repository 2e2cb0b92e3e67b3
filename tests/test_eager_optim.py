"""The optimizers training uses are torch's own, step for step, stepped after backward or inside it, and training
never imports torch's compiler."""

from __future__ import annotations

import subprocess
import sys
import warnings
import weakref
from contextlib import nullcontext
from pathlib import Path

import pytest
import torch

from core.backward_steps import can_step_in_backward, steps_in_backward
from core.config import TrainConfig
from core.training import OPTIMIZERS, make_optimizer

ROOT = Path(__file__).resolve().parent.parent


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def _loss(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(model(x), (x.sum(1) > 0).long())


def _train(
    cls: type[torch.optim.Optimizer], in_backward: bool = False, **settings: float | None
) -> tuple[list[torch.Tensor], dict]:
    """Six steps with OneCycle over two parameter groups at different rates (as differential rates make)."""
    model = _model()
    groups = [{"params": model[0].parameters(), "lr": 0.01}, {"params": model[2].parameters()}]
    optimizer = cls(groups, lr=0.05, **settings)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[0.01, 0.05], total_steps=6)
    data = torch.randn(6, 16, 6, generator=torch.Generator().manual_seed(1))
    with steps_in_backward(optimizer) if in_backward else nullcontext():
        for x in data:
            optimizer.zero_grad()
            _loss(model, x).backward()
            if in_backward:
                assert all(p.grad is None for p in model.parameters())  # each freed as soon as it was used
            optimizer.step()  # inside backward: nothing left to step, as core.training.fit calls it anyway
            schedule.step()
    return [p.detach().clone() for p in model.parameters()], optimizer.state_dict()


def _assert_same(a: tuple[list[torch.Tensor], dict], b: tuple[list[torch.Tensor], dict]) -> None:
    for x, y in zip(a[0], b[0], strict=True):
        assert torch.equal(x, y)
    assert a[1]["param_groups"] == b[1]["param_groups"]
    for key, state in a[1]["state"].items():
        for field, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(b[1]["state"][key][field]))


@pytest.mark.parametrize(
    ("name", "torch_class", "settings"),
    [
        ("sgd", torch.optim.SGD, {"momentum": 0.9, "weight_decay": 1e-3}),
        ("adam", torch.optim.Adam, {}),
        ("adamw", torch.optim.AdamW, {"weight_decay": 0.05}),
    ],
)
@pytest.mark.parametrize("fused", [None, True])  # torch's default step, and the fused one training asks for
def test_each_optimizer_moves_the_weights_exactly_as_torchs_own(name, torch_class, settings, fused) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "lr_scheduler.step() before optimizer.step()" or the like
        ours, our_state = _train(OPTIMIZERS[name], **settings, fused=fused)
    assert issubclass(OPTIMIZERS[name], torch_class)
    _assert_same((ours, our_state), _train(torch_class, **settings, fused=fused))
    again = OPTIMIZERS[name](torch.nn.Linear(1, 1).parameters(), lr=0.1)
    again.load_state_dict(OPTIMIZERS[name](torch.nn.Linear(1, 1).parameters(), lr=0.2).state_dict())
    assert again.param_groups[0]["lr"] == 0.2


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("sgd", {"momentum": 0.9, "weight_decay": 1e-3}),
        ("sgd", {"momentum": 0.0}),
        ("adam", {}),
        ("adam", {"weight_decay": 1e-3}),
        ("adamw", {"weight_decay": 0.05}),
    ],
)
def test_steps_inside_backward_move_the_weights_exactly_as_steps_after_it(name: str, settings: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inside = _train(OPTIMIZERS[name], in_backward=True, **settings, fused=True)
    _assert_same(inside, _train(OPTIMIZERS[name], **settings, fused=True))


@pytest.mark.parametrize(
    "settings", [{"fused": None}, {"fused": True, "amsgrad": True}, {"fused": True, "maximize": True}]
)
def test_steps_inside_backward_refuse_an_optimizer_they_would_step_differently(settings: dict) -> None:
    optimizer = OPTIMIZERS["adam"](_model().parameters(), lr=0.1, **settings)
    assert not can_step_in_backward(optimizer)
    with pytest.raises(ValueError, match="fused"), steps_in_backward(optimizer):
        pass


def test_outside_the_block_backward_only_computes_gradients_again() -> None:
    model = _model()
    optimizer = OPTIMIZERS["adam"](model.parameters(), lr=0.1, fused=True)
    x = torch.randn(16, 6)
    with steps_in_backward(optimizer):
        _loss(model, x).backward()
    before = [p.detach().clone() for p in model.parameters()]
    _loss(model, x).backward()
    assert all(p.grad is not None for p in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def _fit_holding_gradients(monkeypatch: pytest.MonkeyPatch, min_bytes: int) -> tuple[list[bool], weakref.ref]:
    """Fit a small model with the size rule at `min_bytes`; return per batch whether any gradient was held at its
    end, and a weak reference to a weight of the model, which is gone by then."""
    import core.training
    from core.callbacks import Callback
    from core.data.base import ImageDataset

    monkeypatch.setattr(core.training, "IN_BACKWARD_MIN_BYTES", min_bytes)
    held: list[bool] = []

    class Grads(Callback):
        def on_batch_end(self, state) -> None:
            held.append(any(p.grad is not None for p in state.model.parameters()))

    images = torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    data = ImageDataset("grey", images, (images.float().mean((1, 2, 3)) > 127.5).long(), ("dark", "light"))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))
    gone = weakref.ref(model[1].weight)
    core.training.fit(model, data, data, TrainConfig(epochs=2, batch_size=16), callbacks=[Grads()])
    return held, gone


def test_fit_frees_big_gradients_during_backward_and_lets_the_model_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the step inside backward is for: no batch ends holding the gradients (ResNet-18: 45 MB)."""
    held, gone = _fit_holding_gradients(monkeypatch, min_bytes=0)  # this model counts as big
    assert held == [False] * 6
    assert gone() is None  # no hook left behind holds the weights (one would, through the optimizer, in a cycle)


def test_fit_steps_small_models_after_backward(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below IN_BACKWARD_MIN_BYTES a hook per parameter would only cost time (the digits CNN: 1.075x)."""
    held, _ = _fit_holding_gradients(monkeypatch, min_bytes=1 << 20)
    assert held == [True] * 6


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_training_steps_are_fused_on_the_cpu(name: str) -> None:
    assert make_optimizer(_model(), TrainConfig(optimizer=name)).defaults["fused"] is True


@pytest.mark.slow
def test_training_and_the_lr_finder_never_import_torchs_compiler() -> None:
    """torch._dynamo costs 151 MB of a server's memory; eager training has no use for it."""
    code = (
        "import sys, tempfile\n"
        "from dataclasses import replace\n"
        "import core\n"
        "from core.config import DataConfig, ModelConfig, RunConfig\n"
        "from core.data.registry import default_train_config\n"
        "from core.train_runs import find_lr_for, train_run\n"
        "for optimizer in ('adam', 'sgd', 'adamw'):\n"
        "    train = replace(default_train_config('digits'), epochs=1, optimizer=optimizer, schedule='onecycle')\n"
        "    config = RunConfig(DataConfig('digits'), ModelConfig('cnn'), train)\n"
        "    assert train_run(config, core.RunStore(tempfile.mkdtemp())).status == 'finished'\n"
        "find_lr_for(config)\n"
        "print(sorted(m for m in sys.modules if m.startswith('torch._dynamo')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
