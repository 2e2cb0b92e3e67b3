"""Networks trained from scratch: the book's first fully connected net, a small CNN, a small-input ResNet."""

from __future__ import annotations

import torch
from torch import nn

from core.seeding import Dropout

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
        self.classifier = nn.Sequential(Dropout(0.2), nn.Linear(64, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, classes)
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut: ResNet-18's block, named as in torchvision so weights load alike."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample: nn.Module | None = None  # a 1x1 convolution where the shape changes
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, cin, H, W) -> (B, cout, H/stride, W/stride)
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + shortcut)


class ResNet18(nn.Module):
    """ResNet-18 with a 3x3 stem and no max-pool, so 8-32 pixel images keep their detail.

    The same layers and names as torchvision's `resnet18` with `conv1` and `maxpool` replaced this way
    (a test loads one's weights into the other), written out here because importing `torchvision.models`
    costs a server about 1 s and 160 MB.
    """

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, classes)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (B, 512, H/8, W/8)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def small_resnet18(in_channels: int, num_classes: int, image_size: tuple[int, int]) -> nn.Module:
    """Return ResNet-18 with a 3x3 stem and no max-pool, so 8-32 pixel images keep detail."""
    return ResNet18(in_channels, num_classes)
