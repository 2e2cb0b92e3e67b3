"""torchvision pretrained weights: cached under LIGHTBOX_HOME, downloaded atomically, refused when unsafe."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import UnknownNameError, WeightsError
from core.models import pretrained as pt
from core.prepare import resize_and_crop

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def resnet18_bytes() -> tuple[dict[str, torch.Tensor], bytes]:
    """Return a random ResNet-18 state dict and its torch.save bytes."""
    import torchvision  # a second to import (torch._dynamo): only in the tests that need it

    state = torchvision.models.resnet18(weights=None).state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return state, buffer.getvalue()


def leftovers(name: str) -> list[Path]:
    """Return every file in the checkpoints folder of `name` (partial downloads included)."""
    folder = pt.cached_weights_path(name).parent
    return sorted(folder.iterdir()) if folder.exists() else []


class FakeResponse(io.BytesIO):
    """What urlopen returns, serving fixed bytes."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to download."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to download")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(pt, "_download_to", refuse)


def test_offline_and_not_cached_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(WeightsError) as info:
        pt.load_pretrained("resnet50")
    message = str(info.value)
    for words in ("ResNet-50", "98 MB", "no internet connection", "Connect once", "EfficientNet-Lite0"):
        assert words in message
    assert leftovers("resnet50") == []
    assert not pt.is_cached("resnet50")


def test_download_turned_off_and_not_cached(no_download: None) -> None:
    with pytest.raises(WeightsError, match="MobileNetV3-Small"):
        pt.load_pretrained("mobilenet_v3_small", allow_download=False)


def test_cached_weights_load_without_download(no_download: None) -> None:
    state, data = resnet18_bytes()
    path = pt.cached_weights_path("resnet18")
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    assert pt.is_cached("resnet18")
    model = pt.load_pretrained("resnet18", allow_download=False)
    loaded = model.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)


def test_cache_path_is_where_torchvision_would_write(monkeypatch: pytest.MonkeyPatch, lightbox_home: Path) -> None:
    monkeypatch.setenv("TORCH_HOME", str(pt.weights_cache_dir()))
    for name, spec in pt.TORCHVISION_PRETRAINED.items():
        expected = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(spec.url)
        assert pt.cached_weights_path(name) == expected
    assert pt.weights_cache_dir().is_relative_to(lightbox_home)


def test_pickle_with_code_is_refused(no_download: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return os.system, ("touch pwned",)

    monkeypatch.chdir(tmp_path)
    path = pt.cached_weights_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.save({"conv1.weight": Exploit()}, path)
    with pytest.raises(WeightsError, match="not a plain weights file"):
        pt.load_pretrained("resnet18")
    assert not (tmp_path / "pwned").exists()


def test_damaged_cached_file_is_refused(no_download: None) -> None:
    _, data = resnet18_bytes()
    path = pt.cached_weights_path("resnet18")
    path.parent.mkdir(parents=True)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="damaged"):
        pt.load_pretrained("resnet18")


def test_download_lands_in_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    state, data = resnet18_bytes()
    calls: list[str] = []

    def fake_download(url: str, dst: Path, hash_prefix: str | None, progress: object) -> None:
        calls.append(url)
        assert hash_prefix == "f37072fd"
        Path(dst).write_bytes(data)

    monkeypatch.setattr(pt, "_download_to", fake_download)
    model = pt.load_pretrained("resnet18")
    assert calls == [pt.TORCHVISION_PRETRAINED["resnet18"].url]
    assert leftovers("resnet18") == [pt.cached_weights_path("resnet18")]
    assert pt.cached_weights_path("resnet18").read_bytes() == data
    assert torch.equal(model.state_dict()["fc.weight"], state["fc.weight"])


def test_failed_download_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    _, data = resnet18_bytes()

    def half_then_fail(url: str, dst: Path, hash_prefix: str | None, progress: object) -> None:
        Path(dst).write_bytes(data[: len(data) // 2])
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(pt, "_download_to", half_then_fail)
    with pytest.raises(WeightsError, match="ResNet-18"):
        pt.load_pretrained("resnet18")
    assert leftovers("resnet18") == []


def test_downloader_checks_hash_and_reports_progress(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _, data = resnet18_bytes()
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: FakeResponse(data))
    seen: list[tuple[int, int]] = []
    dst = tmp_path / "w.pth"
    pt._download_to("https://x/w.pth", dst, hashlib.sha256(data).hexdigest()[:8], lambda d, t: seen.append((d, t)))
    assert dst.read_bytes() == data
    assert seen[-1] == (len(data), len(data)) and len(seen) > 1
    with pytest.raises(WeightsError, match="checksum"):
        pt._download_to("https://x/w.pth", dst, "00000000", None)


def test_corrupt_download_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    _, data = resnet18_bytes()  # right format, but not the file whose hash the URL names
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: FakeResponse(data))
    with pytest.raises(WeightsError, match="checksum"):
        pt.load_pretrained("resnet18")
    assert leftovers("resnet18") == []


def test_unknown_name() -> None:
    with pytest.raises(UnknownNameError, match="resnet18") as info:
        pt.load_pretrained("resnet9000")
    assert info.value.kind == "pretrained model"
    with pytest.raises(UnknownNameError):
        pt.is_cached("vgg")


def test_imagenet_categories_need_no_download(no_download: None) -> None:
    categories = pt.imagenet_categories()
    assert len(categories) == 1000
    assert "tabby" in categories and categories[281] == "tabby"


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "mobilenet_v3_small", "mobilenet_v3_large"])
def test_spec_preprocessing(name: str) -> None:
    spec = pt.TORCHVISION_PRETRAINED[name]
    assert spec.input_size == 224
    assert spec.resize_size in (232, 256)
    assert spec.mean == pytest.approx(IMAGENET_MEAN) and spec.std == pytest.approx(IMAGENET_STD)
    assert spec.interpolation == "bilinear"
    assert spec.url.startswith("https://download.pytorch.org/") and spec.size_mb > 5
    from torchvision.models import get_weight

    assert spec.weights is get_weight(f"{spec.weights.__class__.__name__}.DEFAULT")


def test_network_available(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network unreachable")

    class Connection:
        def close(self) -> None:
            pass

    monkeypatch.setattr(socket, "create_connection", refuse)
    assert pt.network_available(timeout=0.5) is False
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: Connection())
    assert pt.network_available(timeout=0.5) is True


def _cache_random_weights(path: Path, name: str) -> dict[str, torch.Tensor]:
    """Write random weights for torchvision model `name` where a download would have put them."""
    import torchvision

    state = torchvision.models.get_model(name, weights=None).state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_large"])  # 256 -> 224 and 232 -> 224, bilinear
def test_a_torchvision_model_sees_a_photo_as_its_weights_transforms_say(name: str, no_download: None) -> None:
    from core.data.photos import sample_photo
    from core.inference import Predictor, prepare_image

    _cache_random_weights(pt.cached_weights_path(name), name)
    predictor = Predictor.pretrained(name)
    photo = sample_photo("chelsea")  # 451 x 300: the resize and the crop both matter
    x = prepare_image(photo, predictor.spec)  # (1, 3, 224, 224) in [0, 1]
    mean, std = torch.tensor(predictor.spec.mean).view(3, 1, 1), torch.tensor(predictor.spec.std).view(3, 1, 1)
    expected = pt.get_spec(name).weights.transforms()(photo)  # torchvision's own preprocessing, normalised
    assert x.shape == (1, 3, 224, 224)
    torch.testing.assert_close((x[0] - mean) / std, expected, atol=1e-5, rtol=0)


def test_an_unknown_interpolation_is_a_weights_error() -> None:
    from PIL import Image

    with pytest.raises(WeightsError, match="unknown way of resizing"):
        resize_and_crop(Image.new("RGB", (40, 30)), 32, (28, 28), "sideways")


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "nearest", "lanczos"])
def test_resizing_and_cropping_in_pil_alone_is_torchvisions_pixel_for_pixel(interpolation: str) -> None:
    from PIL import Image
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    rng = np.random.default_rng(0)
    for w, h in ((451, 300), (300, 451), (224, 224), (257, 256), (1000, 233), (640, 481)):
        photo = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for resize, crop in ((256, (224, 224)), (232, (224, 224)), (342, (299, 299))):
            want = TF.center_crop(TF.resize(photo, [resize], InterpolationMode(interpolation), antialias=True), [*crop])
            got = resize_and_crop(photo, resize, crop, interpolation)
            assert got.size == want.size and np.array_equal(np.asarray(got), np.asarray(want)), (w, h, resize)


def test_weights_in_torch_hubs_own_cache_are_used_offline(
    no_download: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from core.inference import available_pretrained, pretrained_download_mb

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # where torchvision downloaded them before
    assert not pt.is_cached("resnet18") and "resnet18" not in available_pretrained(online=False)
    assert pretrained_download_mb("resnet18") == pytest.approx(44.661) and pretrained_download_mb("imagenet") is None
    state = _cache_random_weights(tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth", "resnet18")
    assert pt.hub_weights_path("resnet18") == tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert pt.is_cached("resnet18") and "resnet18" in available_pretrained(online=False)
    assert pretrained_download_mb("resnet18") == 0
    from dashboard.widgets import pretrained_label

    assert pretrained_label("resnet18").endswith("(downloaded)")
    loaded = pt.load_pretrained("resnet18", allow_download=False).state_dict()
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    assert not pt.cached_weights_path("resnet18").exists()  # read where it is, not copied
