"""Networks trained from scratch: the book's first fully connected net, a small CNN, a small-input ResNet."""

from __future__ import annotations

import torch
from torch import nn

__all__: list[str] = []  # nothing here is part of core's public API


class SimpleNet(nn.Module):
    """The book's first classifier: flatten the pixels, two hidden layers, one score per class."""

    def __init__(self, in_channels: int, num_classes: int, image_size: tuple[int, int]) -> None:
        super().__init__()
        inputs = in_channels * image_size[0] * image_size[1]
        self.layers = nn.Sequential(
            nn.Flatten(),  # (B, C*H*W)
            nn.Linear(inputs, 84),
            nn.ReLU(),
            nn.Linear(84, 50),
            nn.ReLU(),
            nn.Linear(50, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, classes)
        return self.layers(x)


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    """Two stages of 3x3 convolutions and pooling, global average pooling, a linear head."""

    def __init__(self, in_channels: int, num_classes: int, image_size: tuple[int, int]) -> None:
        super().__init__()
        pool = 2 if min(image_size) >= 4 else 1
        self.features = nn.Sequential(
            _conv_block(in_channels, 32),
            _conv_block(32, 32),
            nn.MaxPool2d(pool),  # (B, 32, H/2, W/2)
            _conv_block(32, 64),
            _conv_block(64, 64),
            nn.MaxPool2d(pool if min(image_size) >= 8 else 1),  # (B, 64, H/4, W/4)
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),  # (B, 64)
        )
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, classes)
        return self.classifier(self.features(x))


def small_resnet18(in_channels: int, num_classes: int, image_size: tuple[int, int]) -> nn.Module:
    """Return torchvision's ResNet-18 with a 3x3 stem and no max-pool, so 8-32 pixel images keep detail."""
    from torchvision.models import resnet18  # imported here: torchvision.models costs ~1 s and 170 MB to import

    model = resnet18(weights=None, num_classes=num_classes)
    model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model
