"""Predictor: rebuild a model once, then bring any PIL image to its input form and return the top-k."""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image
from torch import nn

from core.config import ModelConfig
from core.errors import UnknownNameError, WeightsError
from core.features import fast_backbone
from core.models.pretrained import (
    TORCHVISION_MODELS,
    TORCHVISION_PRETRAINED,
    imagenet_categories,
    is_cached,
    load_pretrained,
    network_available,
)
from core.models.registry import Classifier, build_model
from core.models.transfer import TransferNet
from core.prepare import Classification, InputSpec, Prediction, classify_with, model_view, prepare_array
from core.runs import RunStore

__all__ = ["PRETRAINED", "Predictor", "available_pretrained", "pretrained_download_mb"]

PRETRAINED: dict[str, str] = {
    "imagenet": "EfficientNet-Lite0 · ImageNet, 1,000 everyday objects (built in)",
    **{name: f"{title} · ImageNet (torchvision weights)" for name, (title, _, _) in TORCHVISION_MODELS.items()},
}


def available_pretrained(online: bool | None = None) -> list[str]:
    """Return the pretrained models usable now: installed or cached, or downloadable when online."""
    from core.models.efficientnet_lite import lite0_weights_available

    names = ["imagenet"] if lite0_weights_available() else []
    for name in TORCHVISION_MODELS:
        if is_cached(name) or online or (online is None and (online := network_available())):
            names.append(name)
    return names


def pretrained_download_mb(name: str) -> float | None:
    """Return the megabytes of weights a pretrained model downloads first: 0 once kept here, None if built in."""
    if name not in TORCHVISION_MODELS:
        return None
    return 0.0 if is_cached(name) else TORCHVISION_MODELS[name][2]


def prepare_image(image: Image.Image, spec: InputSpec) -> torch.Tensor:
    """Convert a PIL image to the (1, C, H, W) float tensor in [0, 1] that a model of `spec` takes."""
    return torch.from_numpy(prepare_array(image, spec))


def serving_model(model: nn.Module) -> nn.Module:
    """Return the model for fast CPU predictions: a pretrained Lite0 backbone BN-folded and prepacked.

    The answers are the same (within float rounding); models without such a backbone come back as they are.
    """
    net = getattr(model, "net", None)
    if isinstance(net, TransferNet) and next(net.parameters()).device.type == "cpu":
        net.backbone = fast_backbone(net.backbone)  # shared with every model on the same backbone
    return model


class Predictor:
    """A model in eval mode with the input form it expects; build once, predict many times."""

    def __init__(self, model: nn.Module, spec: InputSpec, name: str = "") -> None:
        self.model = model.eval()
        self.spec = spec
        self.name = name

    @classmethod
    def from_run(cls, store: RunStore, run_id: str, fast: bool = True) -> Predictor:
        """Load a run's weights (safely) into its architecture; `fast` optimises it for CPU predictions."""
        run = store.get_run(run_id)
        state_dict, meta = store.load_weights(run_id)
        spec = InputSpec.from_dict(meta.get("input_spec") or run.input_spec or {})
        if "int8" in meta:  # a quantized copy: rebuilt by its own module, already as fast as it gets
            from core.quantize import load_int8_model

            return cls(load_int8_model(state_dict, meta, spec), spec, name=run.name)
        with torch.device("meta"):  # no weights drawn to be overwritten: torch's generator belongs to training
            model = build_model(ModelConfig.from_dict(meta.get("model") or run.config.model.to_dict()), spec)
        try:
            model.load_state_dict(state_dict, assign=True)
        except RuntimeError as exc:
            raise WeightsError(f"The weights of run {run_id} do not fit its model: {exc}") from exc
        return cls(serving_model(model) if fast else model, spec, name=run.name)

    @classmethod
    def pretrained(cls, name: str = "imagenet", fast: bool = True) -> Predictor:
        """Return a built-in pretrained model; it needs no run and no network. `fast` optimises the built-in
        Lite0 for CPU predictions (its layers folded and prepacked, which torch.export cannot follow)."""
        if name not in PRETRAINED:
            raise UnknownNameError("pretrained model", name, list(PRETRAINED))
        if name in TORCHVISION_PRETRAINED:
            tv = TORCHVISION_PRETRAINED[name]
            classes = tuple(imagenet_categories())
            extra = {"resize": tv.resize_size, "interpolation": tv.interpolation}  # as its weights' transforms()
            spec = InputSpec(3, tv.input_size, tv.input_size, classes, tv.mean, tv.std, extra=extra)
            return cls(Classifier(load_pretrained(name), spec.mean, spec.std), spec, name=PRETRAINED[name])
        from core.models import efficientnet_lite as lite  # imported late: only this path needs it

        net = lite.efficientnet_lite0(pretrained=True)
        net = lite.optimize_for_inference(net) if fast else net.eval()
        p = lite.LITE0_INPUT
        spec = InputSpec(3, p.size, p.size, tuple(lite.imagenet_classes()), p.mean, p.std, extra={"resize": p.resize})
        return cls(Classifier(net, spec.mean, spec.std), spec, name=PRETRAINED[name])

    @classmethod
    def load(cls, store: RunStore, model: str) -> Predictor:
        """Return the named pretrained model, or the model of run `model`."""
        return cls.pretrained(model) if model in PRETRAINED else cls.from_run(store, model)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.spec.classes

    @torch.inference_mode()
    def tensor_probabilities(self, x: torch.Tensor) -> np.ndarray:
        """Return the probability of every class for one prepared image (1, C, H, W) in [0, 1]."""
        return torch.softmax(self.model(x.contiguous(memory_format=torch.channels_last)).float(), dim=1)[0].numpy()

    def probabilities(self, image: Image.Image) -> np.ndarray:
        """Return the probability of every class for one image."""
        return self.tensor_probabilities(prepare_image(image, self.spec))  # (classes,)

    def classify(self, image: Image.Image | str | os.PathLike[str], top_k: int = 5) -> Classification:
        """Return the top_k classes, most probable first, and how long the model took; `image` may be a file's path."""
        return classify_with(self.probabilities, self.classes, image, top_k)

    @property
    def can_explain(self) -> bool:
        """Say whether Grad-CAM can show where this model looked (it needs a convolution)."""
        from core.explain import has_conv  # imported late: only explanations need it

        return has_conv(self.model)

    @property
    def cannot_explain(self) -> str | None:
        """Return why Grad-CAM cannot show where this model looked (fully connected, or int8), or None if it can."""
        from core.explain import INT8_EXPLAIN_MESSAGE, NO_CONV_MESSAGE, is_quantized

        if self.can_explain:
            return None
        return INT8_EXPLAIN_MESSAGE if is_quantized(self.model) else NO_CONV_MESSAGE

    def explain(self, image: Image.Image, target: int | None = None, min_side: int = 192) -> tuple[Image.Image, str]:
        """Return a Grad-CAM overlay on the image as the model sees it, and the class it explains.

        `target` is a class index (default: the predicted class). Models without convolutions raise
        a LightboxError that says why.
        """
        from core.explain import grad_cam, overlay  # imported late: only explanations need it

        heatmap, index = grad_cam(self.model, prepare_image(image, self.spec), target)  # (H, W) in [0, 1]
        view = model_view(image, self.spec).convert("RGB")
        scale = max(1, -(-min_side // max(min(view.size), 1)))  # whole-number enlargement of tiny inputs
        view = view.resize((view.width * scale, view.height * scale), Image.Resampling.NEAREST)
        return overlay(view, heatmap), self.classes[index]

    def predict(self, image: Image.Image | str | os.PathLike[str], top_k: int = 5) -> list[Prediction]:
        """Return the top_k classes, most probable first (`image` may be a file's path)."""
        return self.classify(image, top_k).predictions
