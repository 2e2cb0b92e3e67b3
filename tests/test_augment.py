from __future__ import annotations

import pytest
import torch

from core import (
    AUGMENTATIONS,
    DatasetError,
    TrainConfig,
    UnknownNameError,
    augment_batch,
    augment_preview,
    load_dataset,
)
from core.data.shapes import generate_shapes
from core.training import check_config


@pytest.fixture(scope="module")
def colour_images() -> torch.Tensor:
    return generate_shapes(samples=64, image_size=24, seed=0).images  # (64, 3, 24, 24)


@pytest.fixture(scope="module")
def digit_images() -> torch.Tensor:
    return load_dataset("digits").images[:64]  # (64, 1, 8, 8)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _left_half_bright(n: int = 64, size: int = 16) -> torch.Tensor:
    images = torch.zeros(n, 1, size, size, dtype=torch.uint8)
    images[..., : size // 2] = 255
    return images


@pytest.mark.parametrize("preset", AUGMENTATIONS)
@pytest.mark.parametrize("images", ["colour_images", "digit_images"])
def test_shape_and_dtype_are_kept(preset: str, images: str, request: pytest.FixtureRequest) -> None:
    batch = request.getfixturevalue(images)
    out = augment_batch(batch, preset, _gen())
    assert out.shape == batch.shape and out.dtype == torch.uint8


def test_none_is_the_identity(colour_images: torch.Tensor) -> None:
    assert torch.equal(augment_batch(colour_images, "none", _gen()), colour_images)


@pytest.mark.parametrize("preset", ["light", "strong"])
def test_the_same_seed_gives_the_same_batch_and_another_seed_another(colour_images: torch.Tensor, preset: str) -> None:
    a = augment_batch(colour_images, preset, _gen(1))
    b = augment_batch(colour_images, preset, _gen(1))
    c = augment_batch(colour_images, preset, _gen(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, colour_images)


def test_each_image_gets_its_own_change() -> None:
    batch = _left_half_bright(8)
    out = augment_batch(batch, "light", _gen(), flip=False)
    assert len({tuple(img.flatten().tolist()) for img in out}) == 8


@pytest.mark.parametrize("preset", ["light", "strong"])
def test_flip_false_never_mirrors(preset: str) -> None:
    out = augment_batch(_left_half_bright(), preset, _gen(), flip=False).float()  # (64, 1, 16, 16)
    left, right = out[..., :4].mean(dim=(1, 2, 3)), out[..., -4:].mean(dim=(1, 2, 3))  # (64,)
    assert bool((left > right + 100).all())


def test_flip_true_mirrors_about_half() -> None:
    out = augment_batch(_left_half_bright(), "light", _gen(), flip=True).float()
    mirrored = out[..., -4:].mean(dim=(1, 2, 3)) > out[..., :4].mean(dim=(1, 2, 3))  # (64,)
    assert 16 <= int(mirrored.sum()) <= 48


def _stat_change(before: torch.Tensor, after: torch.Tensor) -> float:
    b, a = before.float().flatten(1), after.float().flatten(1)  # (B, C*H*W)
    return float(((a.mean(1) - b.mean(1)).abs() + (a.std(1) - b.std(1)).abs()).mean())


def test_strong_changes_pixel_statistics_more_than_light(colour_images: torch.Tensor) -> None:
    light = augment_batch(colour_images, "light", _gen())
    strong = augment_batch(colour_images, "strong", _gen())
    assert _stat_change(colour_images, strong) > 2 * _stat_change(colour_images, light)


def test_strong_changes_saturation_only_of_colour_images(colour_images: torch.Tensor) -> None:
    grey = colour_images[:, :1].expand(-1, 3, -1, -1).contiguous()  # (B, 3, H, W), equal channels
    out = augment_batch(grey, "strong", _gen()).float()
    assert float((out[:, 0] - out[:, 1]).abs().max()) <= 1.0  # still grey, up to rounding
    colour = augment_batch(colour_images, "strong", _gen()).float()
    assert float((colour[:, 0] - colour[:, 1]).abs().max()) > 10


def test_preview_repeats_one_image_with_different_changes(digit_images: torch.Tensor) -> None:
    grid = augment_preview(digit_images[0], "strong", n=6, seed=3, flip=False)
    assert grid.shape == (6, 1, 8, 8) and grid.dtype == torch.uint8
    assert torch.equal(grid, augment_preview(digit_images[0], "strong", n=6, seed=3, flip=False))
    assert not torch.equal(grid[0], grid[1])
    assert torch.equal(augment_preview(digit_images[0], "none", n=2), digit_images[:1].expand(2, -1, -1, -1))


def test_bad_requests_are_clear_errors(digit_images: torch.Tensor) -> None:
    with pytest.raises(UnknownNameError, match="none, light, strong"):
        augment_batch(digit_images, "wild", _gen())
    with pytest.raises(DatasetError, match="uint8"):
        augment_batch(digit_images.float(), "light", _gen())
    with pytest.raises(DatasetError, match="one uint8 image"):
        augment_preview(digit_images, "light")
    with pytest.raises(UnknownNameError, match="none, light, strong"):
        check_config(TrainConfig(augment="wild"))
