"""Small builders shared by tests: tiny real datasets, configs and trained runs."""

from __future__ import annotations

from core import DataConfig, ModelConfig, RunConfig, RunInfo, RunStore, TrainConfig, train_run


def quick_config(model: str = "cnn", epochs: int = 2, dataset: str = "digits", **train: object) -> RunConfig:
    """A config that trains for real in about a second."""
    return RunConfig(
        data=DataConfig(name=dataset),
        model=ModelConfig(name=model),
        train=TrainConfig(**{"epochs": epochs, "batch_size": 64, "lr": 3e-3, **train}),  # type: ignore[arg-type]
    )


def trained_run(store: RunStore, model: str = "cnn", epochs: int = 2) -> RunInfo:
    """Train a real model on digits and return its finished run."""
    return train_run(quick_config(model, epochs), store)
