"""int8 copies of models: post-training static quantization for x86 CPUs, in plain eager PyTorch.

Two flows, both measured in benchmarks/quantization.py (torch 2.14, x86 CPU, no compiler):
- EfficientNet-Lite (the built-in ImageNet model, and the backbone of transfer runs) goes through
  core.quantize_lite: oneDNN's fused int8 convolutions called directly (ReLU6 and the residual add fused,
  per-channel weights; stem and first block fp32), calibrated by core.quantize_calibrate (stream equalization,
  MSE-minimising ranges, GPTQ rounding of the depthwise weights, empirical bias correction). It agrees with
  fp32 on 96.8% of the photo set and 99.5% of a held-out one (FX: 77%), logit MSE 0.0020, and runs 1.4-3.2x
  as fast as our optimised fp32 at batch 32, 1.7-2.3x at batch 1 (a shared 2-core machine: ratios rough).
- Any other net (the digits CNN, say) goes through torch.ao's FX graph mode with the oneDNN backend; the input
  normalisation and the last Linear layer stay fp32. Small nets agree with fp32 on >= 95% of their images.

Why not the alternatives: torchao's pt2e flow (X86InductorQuantizer) reaches the same oneDNN kernels only
through torch.compile, whose first call takes tens of seconds and hundreds of MB on a 2-core, 1 GB host; the
FX flow cannot fuse ReLU6 with its conv, so on EfficientNet-Lite each activation is quantized over its whole
range (76% agreement) and its unfused int8 ops run slower than fp32 at batch 1; quantize_dynamic only
quantizes Linear layers.
"""

from __future__ import annotations

import copy
import warnings
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.batching import inference_batch
from core.config import ModelConfig
from core.devices import torch_threads
from core.errors import WeightsError
from core.models.efficientnet_lite import ConvBNAct, EfficientNetLite
from core.models.registry import Classifier, build_model
from core.models.transfer import BACKBONE_SIZE, TransferNet
from core.prepare import InputSpec
from core.seeding import global_generator

__all__ = [
    "BACKEND",
    "FUSED_SCHEME",
    "SCHEME",
    "agreement",
    "int8_meta",
    "int8_scheme",
    "int8_state_dict",
    "load_int8_model",
    "model_size_mb",
    "quantize_model",
    "saved_scheme",
]

IMAGENET_MODEL = "imagenet_lite0"  # the ModelConfig name of an int8 copy of the built-in model

BACKEND = "onednn"  # oneDNN int8 kernels (VNNI/AMX here); full 8-bit activations, no reduce_range
# Calibration runs in one thread, wherever it is called from. oneDNN computes along another path with 1 thread
# than with several, and its last-bit differences change discrete choices (ranges, rounding), so the copy
# depended on the caller: 2, 3 or 4 threads made one copy (213 of 216 photos agree with fp32, logit MSE
# 0.00200), 1 thread, as a dashboard job on a 2-core host runs, another (209 of 216, MSE 0.00197: as close, other
# near-ties flipped). One thread also never spins waiting for a core a busy server has given to another task
# (at 2 threads beside 3 busy processes on 2 cores, calibrating took 32 CPU-s and 43 s against 9 and 19 at 1).
CALIBRATION_THREADS = 1
SCHEME = "int8 static (torch.ao FX, oneDNN backend, per-channel weights, last layer fp32)"
FUSED_SCHEME = (
    "int8 static (oneDNN fused int8 convs, per-channel weights, equalized, MSE ranges, GPTQ depthwise rounding, "
    "bias correction; stem, first block, classifier fp32)"
)
# Fused int8 schemes of earlier versions: their state dicts no longer fit or are calibrated differently, so they
# are made again, not misread
EARLIER_FUSED_SCHEMES = (
    "int8 static (oneDNN fused int8 convs, per-channel weights, bias correction; stem, classifier fp32)",
    "int8 static (oneDNN fused int8 convs, per-channel weights, equalized, MSE ranges, bias correction; "
    "stem, first block, classifier fp32)",
)


class StaticSamePadConv(nn.Module):
    """A ConvBNAct whose 'SAME' padding is fixed for one input size: plain conv, BN, activation (traceable)."""

    def __init__(self, block: ConvBNAct, even: bool) -> None:
        super().__init__()
        conv = block.conv
        self.conv = copy.deepcopy(conv)
        if even:  # the zero row/column in front of the kernel that ConvBNAct.conv_same adds on even sides
            with torch.no_grad():
                self.conv.weight = nn.Parameter(F.pad(conv.weight, (1, 0, 1, 0)))
            self.conv.kernel_size = tuple(self.conv.weight.shape[-2:])
        self.bn, self.act = block.bn, block.act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class FeatureExtractor(nn.Module):
    """EfficientNet-Lite's forward_features as a module's forward: stem, blocks, head conv, average pool."""

    def __init__(self, net: EfficientNetLite) -> None:
        super().__init__()
        self.stem, self.blocks, self.head = net.stem, net.blocks, net.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, 224, 224) -> (B, 1280)
        return self.head(self.blocks(self.stem(x))).mean(dim=(2, 3))


class Int8Backbone(nn.Module):
    """Stands in for a TransferNet's backbone: forward_features runs the quantized feature extractor."""

    def __init__(self, features: nn.Module) -> None:
        super().__init__()
        self.features = features

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


@torch.no_grad()
def _fix_same_padding(net: nn.Module, size: int) -> nn.Module:
    """Replace each stride-2 ConvBNAct by a StaticSamePadConv for inputs of `size` pixels (eval copy)."""
    net = copy.deepcopy(net).eval()
    sides: dict[str, bool] = {}
    hooks = [
        m.register_forward_pre_hook(lambda _, args, n=name: sides.__setitem__(n, args[0].shape[-1] % 2 == 0))
        for name, m in net.named_modules()
        if isinstance(m, ConvBNAct) and m.conv.stride[0] > 1
    ]
    net(torch.zeros(1, 3, size, size))
    for hook in hooks:
        hook.remove()
    for name, even in sides.items():
        parent, _, child = name.rpartition(".")
        setattr(net.get_submodule(parent), child, StaticSamePadConv(net.get_submodule(name), even))
    return net


def _quantizable_part(model: Classifier, input_shape: tuple[int, ...]) -> tuple[nn.Module, tuple[int, ...]]:
    """Return the float network to quantize (traceable) and the shape of one input it takes."""
    net = model.net
    if isinstance(net, TransferNet):
        return FeatureExtractor(_fix_same_padding(net.backbone, BACKBONE_SIZE)), (1, 3, BACKBONE_SIZE, BACKBONE_SIZE)
    if isinstance(net, EfficientNetLite):
        size = net.input_spec.size
        return _fix_same_padding(net, size), (1, 3, size, size)
    return copy.deepcopy(net).eval(), (1, *input_shape)


def _last_linear(net: nn.Module) -> str:
    """Return the name of the network's last Linear layer: kept in fp32, so close logits keep their order."""
    names = [name for name, m in net.named_modules() if isinstance(m, nn.Linear)]
    return names[-1] if names else ""


def _install(model: Classifier, quantized: nn.Module) -> Classifier:
    """Return a copy of the float model with its quantizable part replaced by `quantized`."""
    out = copy.copy(model)
    out._modules = dict(model._modules)
    if isinstance(model.net, TransferNet):
        net = copy.copy(model.net)
        net._modules = dict(model.net._modules)
        net._modules["backbone"] = quantized if hasattr(quantized, "forward_features") else Int8Backbone(quantized)
        out._modules["net"] = net
    else:
        out._modules["net"] = quantized
    return out.eval()


def _lite_net(model: Classifier) -> EfficientNetLite | None:
    """Return the model's EfficientNet-Lite (the whole net, or a transfer run's backbone), if it has one."""
    net = model.net
    net = net.backbone if isinstance(net, TransferNet) else net
    return net if isinstance(net, EfficientNetLite) else None


def uses_fused_flow(model: Classifier, scheme: str | None = None) -> bool:
    """Say whether a model is quantized by the fused oneDNN flow (or was, given the `scheme` it was saved with)."""
    from core.quantize_lite import int8_supported

    return _lite_net(model) is not None and scheme in (None, FUSED_SCHEME) and int8_supported()


def quantize_model(
    model: Classifier,
    input_shape: tuple[int, ...],
    calibration: Iterable[torch.Tensor] | None = None,
    scheme: str | None = None,
) -> Classifier:
    """Return an int8 copy of `model` (taking [0, 1] images of `input_shape` (C, H, W)).

    Calibration batches are [0, 1] images as the model takes them; without any (when rebuilding a saved int8
    model before loading its state dict) the scales are placeholders. `scheme` picks the flow a saved model
    was made with; by default EfficientNet-Lite takes the fused flow and other nets the FX flow.
    """
    model = model.float().cpu().eval()
    if uses_fused_flow(model, scheme):
        return _quantize_fused(model, calibration)
    return _quantize_fx(model, input_shape, calibration)


def _quantize_fused(model: Classifier, calibration: Iterable[torch.Tensor] | None) -> Classifier:
    """Quantize the model's EfficientNet-Lite with oneDNN's fused int8 convs (core.quantize_lite)."""
    from core.quantize_calibrate import calibrate
    from core.quantize_lite import folded_copy

    folded = folded_copy(_lite_net(model))  # measured inside the float model, installed in place of its net
    with torch_threads(CALIBRATION_THREADS):
        net = calibrate(folded, calibration or (), lambda net, x: _install(model, net)(x.float()))
    return _install(model, net)


def _quantize_fx(
    model: Classifier, input_shape: tuple[int, ...], calibration: Iterable[torch.Tensor] | None
) -> Classifier:
    """Quantize the model with torch.ao's FX graph mode (oneDNN backend)."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = BACKEND
    part, example_shape = _quantizable_part(model, input_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FX's notes on deprecated flows and uncalibrated observers
        mapping = get_default_qconfig_mapping(BACKEND).set_module_name(_last_linear(part), None)
        prepared = prepare_fx(part, mapping, (torch.zeros(example_shape),))
        staged = _install(model, prepared)
        with torch.no_grad():
            for batch in calibration or ():
                staged(batch.float())
        quantized = convert_fx(prepared)
    return _install(model, quantized)


def model_size_mb(model: nn.Module) -> float:
    """Return the size of a model's saved state dict in MB (what a file of its weights takes)."""
    import io

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes / 1e6


def int8_scheme(int8: nn.Module) -> str:
    """Return the scheme an int8 model was made with (fused oneDNN or FX)."""
    from core.quantize_lite import Int8EfficientNetLite

    return FUSED_SCHEME if any(isinstance(m, Int8EfficientNetLite) for m in int8.modules()) else SCHEME


def int8_meta(source: str, scheme: str = SCHEME) -> dict[str, Any]:
    """Return what a saved int8 model records about itself: the scheme and the model it came from."""
    return {"scheme": scheme, "backend": BACKEND, "source": source}


@torch.no_grad()
def agreement(fp32: nn.Module, int8: nn.Module, images: torch.Tensor, batch: int | None = None) -> float:
    """Return the share of images (N, C, H, W) in [0, 1] on which both models give the same top-1 class."""
    same = 0
    for x in images.split(batch or inference_batch(fp32, images)):
        same += int((fp32(x).argmax(1) == int8(x).argmax(1)).sum())
    return same / max(len(images), 1)


def _float_skeleton(model: ModelConfig, spec: InputSpec) -> Classifier:
    """Return the float model a saved int8 run was made from, with any weights (they are replaced)."""
    if model.name == IMAGENET_MODEL:
        from core.models.efficientnet_lite import efficientnet_lite0

        with global_generator():  # drawn only to be replaced, never amid a job's seeded draws
            net = efficientnet_lite0(len(spec.classes), pretrained=False)
        return Classifier(net, spec.mean, spec.std)
    return build_model(ModelConfig(model.name), spec)


def load_int8_model(state_dict: dict[str, torch.Tensor], meta: dict[str, Any], spec: InputSpec) -> nn.Module:
    """Rebuild a saved int8 model: float skeleton, the same int8 conversion, then its state dict."""
    from core.quantize_lite import int8_supported

    named = meta.get("int8", {}).get("scheme")
    if named in EARLIER_FUSED_SCHEMES:
        raise WeightsError(
            "This int8 copy was made by an earlier version of Lightbox, whose int8 conversion has changed. "
            "Make the int8 copy again from its fp32 run (Train's 'Make an int8 copy', or python -m core quantize)."
        )
    scheme = saved_scheme(named)
    if scheme == FUSED_SCHEME and not int8_supported():
        raise WeightsError(
            "This int8 model runs on oneDNN's int8 kernels, which this PyTorch build lacks (x86 builds have them). "
            "Use its fp32 original here, or quantize that again on this computer."
        )
    skeleton = _float_skeleton(ModelConfig.from_dict(meta["model"]), spec)
    model = quantize_model(skeleton, (spec.channels, spec.height, spec.width), scheme=scheme)
    state_dict = OrderedDict(state_dict)
    # Saved as plain tensors, the dict lost the module versions torch keeps beside it; without them a quantized
    # Linear reads its weights the pre-1.0 way and fails (KeyError 'net.layers.1.weight': every int8 copy of
    # the simple net). The skeleton's are this code's own.
    state_dict._metadata = getattr(model.state_dict(), "_metadata", None)  # type: ignore[attr-defined]
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        raise WeightsError(f"The int8 weights do not fit their model: {exc}") from exc
    return model.eval()


def saved_scheme(scheme: object) -> str:
    """Return the flow a saved int8 model names (the FX flow for anything but the fused scheme)."""
    return FUSED_SCHEME if scheme == FUSED_SCHEME else SCHEME


def int8_state_dict(model: ModelConfig, spec: InputSpec, scheme: str | None = None) -> dict[str, Any]:
    """Return the state dict an int8 model of this config holds (placeholder values), to check a bundle against."""
    skeleton = _float_skeleton(model, spec)
    return quantize_model(skeleton, (spec.channels, spec.height, spec.width), scheme=scheme).state_dict()
