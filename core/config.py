"""Frozen settings for a run: what data, which model, how to train. Saved inside every run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

__all__ = ["DataConfig", "ModelConfig", "RunConfig", "TrainConfig"]

T = TypeVar("T")


class _Settings:
    """to_dict / from_dict for flat frozen dataclasses; unknown keys (older or newer runs) are ignored."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class DataConfig(_Settings):
    """Which dataset, how to hold back validation images, and generator options."""

    name: str = "digits"
    val_fraction: float = 0.2
    split_seed: int = 0
    image_size: int | None = None  # generated and imported datasets only
    samples: int | None = None  # generated datasets only
    owner: str | None = None  # the workspace an imported dataset belongs to; None: the server's


@dataclass(frozen=True)
class ModelConfig(_Settings):
    """Which architecture from the model registry, and whether its weights are an int8 copy."""

    name: str = "cnn"
    quantization: str = ""  # "" for float weights, "int8" for a quantized copy of another run


@dataclass(frozen=True)
class TrainConfig(_Settings):
    """Optimisation settings for fit()."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    momentum: float = 0.9  # SGD only
    seed: int = 0
    device: str = "auto"
    schedule: str = "constant"  # learning rate over the run: "constant" or "onecycle"
    augment: str = "none"  # training-batch augmentation preset: "none", "light" or "strong"
    precision: str = "fp32"  # "fp32", or mixed precision "bf16" / "fp16" (core.devices.PRECISIONS)


@dataclass(frozen=True)
class RunConfig:
    """Everything that produced a run."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.data.to_dict(),
            "model": self.model.to_dict(),
            "train": self.train.to_dict(),
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        return cls(
            data=DataConfig.from_dict(data.get("data", {})),
            model=ModelConfig.from_dict(data.get("model", {})),
            train=TrainConfig.from_dict(data.get("train", {})),
            name=str(data.get("name", "")),
        )
