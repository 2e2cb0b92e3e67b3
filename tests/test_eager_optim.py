"""The optimizers training uses are torch's own, step for step, and training never imports torch's compiler."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from core.config import TrainConfig
from core.training import OPTIMIZERS, make_optimizer

ROOT = Path(__file__).resolve().parent.parent


def _train(cls: type[torch.optim.Optimizer], **settings: float | None) -> tuple[list[torch.Tensor], dict]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    optimizer = cls(model.parameters(), lr=0.05, **settings)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=6)
    data = torch.randn(6, 16, 6, generator=torch.Generator().manual_seed(1))
    for x in data:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), (x.sum(1) > 0).long()).backward()
        optimizer.step()
        schedule.step()
    return [p.detach().clone() for p in model.parameters()], optimizer.state_dict()


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
    theirs, their_state = _train(torch_class, **settings, fused=fused)
    assert issubclass(OPTIMIZERS[name], torch_class)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b)
    assert our_state["param_groups"] == their_state["param_groups"]
    for key, state in our_state["state"].items():
        for field, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(their_state["state"][key][field]))
    again = OPTIMIZERS[name](torch.nn.Linear(1, 1).parameters(), lr=0.1)
    again.load_state_dict(OPTIMIZERS[name](torch.nn.Linear(1, 1).parameters(), lr=0.2).state_dict())
    assert again.param_groups[0]["lr"] == 0.2


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_training_steps_are_fused_on_the_cpu(name: str) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    assert make_optimizer(model, TrainConfig(optimizer=name)).defaults["fused"] is True


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
