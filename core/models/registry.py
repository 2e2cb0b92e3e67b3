"""The model registry: every architecture the UI and CLI offer, built the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from core.config import ModelConfig
from core.errors import UnknownNameError
from core.models.small import SimpleNet, SmallCNN, small_resnet18
from core.models.transfer import describe_groups, finetune_transfer, frozen_transfer
from core.prepare import InputSpec
from core.seeding import global_generator

__all__ = ["MODELS", "build_model"]

Builder = Callable[[int, int, tuple[int, int]], nn.Module]  # (channels, classes, (H, W)) -> network


@dataclass(frozen=True)
class ModelSpec:
    """A named architecture and how to build it for a dataset's shape."""

    name: str
    title: str
    summary: str
    builder: Builder
    normalization: tuple[float, float] | None = None  # a pretrained backbone's own (mean, std)
    layer_groups: Callable[[float], list[dict[str, object]]] | None = None  # differential rates, for display


def _pretrained_spec(name: str, title: str, summary: str, frozen: bool) -> ModelSpec:
    """Describe a transfer-learning model on the pretrained EfficientNet-Lite0 backbone."""
    return ModelSpec(
        name,
        title,
        summary,
        frozen_transfer if frozen else finetune_transfer,
        normalization=(0.5, 0.5),  # the backbone's own input scaling
        layer_groups=lambda lr: describe_groups(lr, frozen=frozen),
    )


MODELS: dict[str, ModelSpec] = {
    "simple": ModelSpec(
        "simple",
        "Fully connected net",
        "The book's first network: every pixel wired to 84, then 50 neurons.",
        SimpleNet,
    ),
    "cnn": ModelSpec(
        "cnn",
        "Small CNN",
        "Four 3x3 convolution layers that learn local patterns, then pooling.",
        SmallCNN,
    ),
    "resnet18": ModelSpec(
        "resnet18",
        "ResNet-18",
        "torchvision's 18-layer residual network, adapted to small images.",
        small_resnet18,
    ),
    **{
        spec.name: spec
        for spec in (
            _pretrained_spec(
                "lite0_transfer",
                "Pretrained EfficientNet-Lite0, new head",
                "Transfer learning: ImageNet features stay frozen (computed once), only a new last layer learns.",
                frozen=True,
            ),
            _pretrained_spec(
                "lite0_finetune",
                "Pretrained EfficientNet-Lite0, fine-tuned",
                "Fine-tuning: the whole pretrained network learns, earlier layers with smaller learning rates.",
                frozen=False,
            ),
        )
    },
}


class Classifier(nn.Module):
    """A network with its input normalisation built in, so a saved model needs nothing else."""

    def __init__(self, net: nn.Module, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Scale images in [0, 1] (B, C, H, W) to zero mean and unit spread per channel.

        A channels_last image (as Predictor passes one) is read as rows of 16 pixels' channels, each row less a
        mean repeated 16 times: the same values, but the innermost loop runs over 16 * C numbers, not C (3), so
        it vectorises: 5-7x as fast for a 224x224 photo (0.1 vs 0.7 ms at 2 threads, a loaded machine).
        """
        b, c, h, w = x.shape if x.dim() == 4 else (0, 0, 0, 0)
        if c > 1 and h * w % 16 == 0 and x.is_contiguous(memory_format=torch.channels_last):
            rows = x.permute(0, 2, 3, 1).reshape(-1, 16 * c)  # a view: channels_last memory is (B, H, W, C)
            rows = (rows - self.mean.view(-1).repeat(16)) / self.std.view(-1).repeat(16)
            return rows.view(b, h, w, c).permute(0, 3, 1, 2)  # (B, C, H, W), channels_last
        return (x - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) in [0, 1] -> (B, classes) logits
        return self.net(self.normalize(x))


def build_model(cfg: ModelConfig | str, spec: InputSpec, seed: int | None = None) -> Classifier:
    """Build the named architecture for inputs shaped as `spec` describes, its initial weights those `seed` makes
    (whatever other threads draw meanwhile), or without one fresh draws of torch's generator."""
    name = cfg if isinstance(cfg, str) else cfg.name
    if name not in MODELS:
        raise UnknownNameError("model", name, list(MODELS))
    with global_generator(seed):
        net = MODELS[name].builder(spec.channels, len(spec.classes), (spec.height, spec.width))
    return Classifier(net, spec.mean, spec.std)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Return the number of parameters (all, or only those that train)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put `model` in eval mode for the block, then back in the mode it was in (also when the block raises)."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
