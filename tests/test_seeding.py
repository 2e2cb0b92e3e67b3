"""A seed makes the same run however many runs train at once in the process (a server trains each in a thread)."""

from __future__ import annotations

import threading

import pytest
import torch

from core import DataConfig, ModelConfig, RunConfig, RunStore, TrainConfig, train_run
from core.evaluation import measure_latency
from core.models.registry import build_model
from core.prepare import InputSpec


def _config(seed: int) -> RunConfig:
    train = TrainConfig(epochs=1, batch_size=32, seed=seed, device="cpu")
    return RunConfig(DataConfig("digits"), ModelConfig("cnn"), train)  # the CNN's head has dropout


def _losses(store: RunStore, run_id: str) -> list[tuple[float, float]]:
    return [(row["train_loss"], row["val_loss"]) for row in store.history(run_id)]


@pytest.mark.slow
def test_two_runs_at_once_are_each_the_run_their_seed_makes(store: RunStore) -> None:
    alone = {seed: _losses(store, train_run(_config(seed), store).id) for seed in (0, 1)}
    together: dict[int, list[tuple[float, float]]] = {}
    spec = InputSpec(1, 8, 8, tuple("0123456789"), (0.5,), (0.5,))

    def train(seed: int) -> None:
        together[seed] = _losses(store, train_run(_config(seed), store).id)

    threads = [threading.Thread(target=train, args=(seed,)) for seed in (0, 1)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):  # and a page loading models meanwhile, as Classify does
        measure_latency(build_model("cnn", spec), spec, repeats=5)  # as a run's summary does
    for thread in threads:
        thread.join()
    assert together == alone


def test_a_seeded_build_is_the_same_model_and_leaves_the_global_generator_alone() -> None:
    spec = InputSpec(3, 16, 16, ("a", "b"), (0.5,) * 3, (0.5,) * 3)
    before = torch.random.get_rng_state()
    a, b = build_model("cnn", spec, seed=3), build_model("cnn", spec, seed=3)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    first, second = build_model("cnn", spec), build_model("cnn", spec)  # unseeded: fresh draws, as torch's layers
    head = "net.classifier.1.weight"
    assert not torch.equal(first.state_dict()[head], second.state_dict()[head])
