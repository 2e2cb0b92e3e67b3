from __future__ import annotations

import pytest
import torch

from core import MODELS, InputSpec, UnknownNameError, build_model
from core.models.registry import count_parameters


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32)])
def test_every_model_maps_images_to_class_scores(name: str, shape: tuple[int, int, int]) -> None:
    c, h, w = shape
    spec = InputSpec(c, h, w, tuple("abcde"), (0.5,) * c, (0.25,) * c)
    model = build_model(name, spec).eval()
    out = model(torch.rand(4, c, h, w))  # (B, C, H, W)
    assert out.shape == (4, 5)
    assert torch.isfinite(out).all()
    assert count_parameters(model) > 0


def test_parameter_counts_grow_with_the_architecture() -> None:
    spec = InputSpec(1, 8, 8, tuple("0123456789"), (0.5,), (0.25,))
    simple, cnn, resnet = (count_parameters(build_model(n, spec)) for n in ("simple", "cnn", "resnet18"))
    assert simple == 64 * 84 + 84 + 84 * 50 + 50 + 50 * 10 + 10  # the book's fully connected net
    assert resnet > 10_000_000 > cnn


def test_normalisation_is_inside_the_model() -> None:
    spec = InputSpec(1, 8, 8, ("a", "b"), (0.3,), (0.2,))
    model = build_model("simple", spec)
    assert "mean" in model.state_dict() and model.state_dict()["mean"].item() == pytest.approx(0.3)


def test_unknown_model_is_a_clear_error() -> None:
    spec = InputSpec(1, 8, 8, ("a", "b"), (0.5,), (0.5,))
    with pytest.raises(UnknownNameError, match="simple, cnn, resnet18"):
        build_model("vgg99", spec)


def test_small_resnet18_is_torchvisions_layout_without_importing_it() -> None:
    """Our ResNet-18 loads torchvision's weights (3x3 stem, no max-pool) and answers identically."""
    from torch import nn
    from torchvision.models import resnet18

    from core.models.small import small_resnet18

    ours = small_resnet18(1, 10, (8, 8)).eval()
    theirs = resnet18(weights=None, num_classes=10)
    theirs.conv1 = nn.Conv2d(1, 64, kernel_size=3, stride=1, padding=1, bias=False)
    theirs.maxpool = nn.Identity()
    theirs.eval()
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, v.shape) for k, v in theirs.state_dict().items()
    ]
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(3, 1, 8, 8)
    assert torch.equal(ours(x), theirs(x))
