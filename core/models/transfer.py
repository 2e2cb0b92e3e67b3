"""Transfer learning: an ImageNet-pretrained backbone that turns images into features, and a new head.

Frozen, only the head learns, and the backbone's features can be computed once and cached. Fine-tuned,
the backbone learns too, with smaller learning rates for earlier layers (differential learning rates).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.models.efficientnet_lite import NUM_FEATURES, EfficientNetLite, efficientnet_lite0
from core.seeding import Dropout

__all__: list[str] = []  # nothing here is part of core's public API

BACKBONE_SIZE = 224  # the resolution the ImageNet weights were trained at
LATE_BLOCKS = 10  # blocks from this index on (and the 1x1 head conv) form the "late" group
GROUP_DIVISORS = {"head": 1.0, "late layers": 3.0, "early layers": 9.0}  # the book's lr, lr/3, lr/9


class TransferNet(nn.Module):
    """EfficientNet-Lite0 features (pretrained on ImageNet) followed by a linear head for your classes."""

    def __init__(self, in_channels: int, num_classes: int, frozen: bool, pretrained: bool = True) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.frozen = frozen
        self.backbone: EfficientNetLite = efficientnet_lite0(pretrained=pretrained)
        self.backbone.classifier = nn.Identity()
        self.head = nn.Sequential(Dropout(0.2), nn.Linear(NUM_FEATURES, num_classes))
        self.backbone.requires_grad_(not frozen)

    def train(self, mode: bool = True) -> TransferNet:
        """Train the head; keep the backbone's batch-norm statistics as ImageNet set them."""
        super().train(mode)
        self.backbone.eval()
        return self

    def features(self, x: torch.Tensor, backbone: nn.Module | None = None) -> torch.Tensor:
        """Return backbone features (B, 1280) for normalised images (B, C, H, W) of any size.

        `backbone` swaps in an inference-optimised copy of the same weights when extracting features.
        """
        backbone = backbone or self.backbone
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grey to RGB: the backbone was trained on colour
        if x.shape[-2:] != (BACKBONE_SIZE, BACKBONE_SIZE):
            x = F.interpolate(x, size=(BACKBONE_SIZE, BACKBONE_SIZE), mode="bilinear", antialias=True)
        # A frozen backbone's parameters do not require grad, so no graph is built through it in training,
        # while gradients can still reach the pixels when an explanation asks for them.
        return backbone.forward_features(x.contiguous(memory_format=torch.channels_last))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, classes)
        return self.head(self.features(x))

    def param_groups(self, lr: float) -> list[dict[str, object]]:
        """Return optimiser parameter groups: the head at lr, later then earlier backbone layers lower."""
        if self.frozen:
            return [{"params": list(self.head.parameters()), "lr": lr, "name": "head"}]
        late = [*self.backbone.blocks[LATE_BLOCKS:].parameters(), *self.backbone.head.parameters()]
        early = [*self.backbone.stem.parameters(), *self.backbone.blocks[:LATE_BLOCKS].parameters()]
        return [
            {"params": list(self.head.parameters()), "lr": lr / GROUP_DIVISORS["head"], "name": "head"},
            {"params": late, "lr": lr / GROUP_DIVISORS["late layers"], "name": "late layers"},
            {"params": early, "lr": lr / GROUP_DIVISORS["early layers"], "name": "early layers"},
        ]


def frozen_transfer(in_channels: int, num_classes: int, image_size: tuple[int, int]) -> TransferNet:
    """Build the pretrained backbone, frozen, with a new head (feature extraction)."""
    return TransferNet(in_channels, num_classes, frozen=True)


def finetune_transfer(in_channels: int, num_classes: int, image_size: tuple[int, int]) -> TransferNet:
    """Build the pretrained backbone, trainable with differential learning rates, with a new head."""
    return TransferNet(in_channels, num_classes, frozen=False)


def describe_groups(lr: float, frozen: bool) -> list[dict[str, object]]:
    """Return, for the UI, each layer group with its learning rate and whether it trains."""
    rows = [{"layers": "new head (your classes)", "learning rate": lr, "trains": True}]
    for name in ("late layers", "early layers"):
        rate = 0.0 if frozen else lr / GROUP_DIVISORS[name]
        label = "blocks 10-15 + head conv" if name == "late layers" else "stem + blocks 0-9"
        rows.append({"layers": f"{name} ({label})", "learning rate": rate, "trains": not frozen})
    return rows
