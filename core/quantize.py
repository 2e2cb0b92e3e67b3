"""int8 copies of models: post-training static quantization with torch.ao's FX graph mode, oneDNN backend.

Why this flow (torch 2.14, x86 CPU, measured in benchmarks/quantization.py): FX graph mode converts a model
into one that runs int8 kernels (fbgemm/oneDNN) in plain eager PyTorch, with no compiler, in seconds and
with little memory. torchao's pt2e flow (X86InductorQuantizer) only runs faster than fp32 after
torch.compile, whose first call takes tens of seconds and hundreds of MB, too much for a 1 GB host;
quantize_dynamic only quantizes Linear layers, so it leaves every convolution in fp32.

The input normalisation stays fp32 (inside `Classifier`); what follows it is quantized, except the last Linear
layer (close logits keep their order). For EfficientNet-Lite the 'SAME' padding of stride-2 convolutions is
fixed for the 224-pixel input first, so the graph traces. Measured: small nets (digits CNN) agree with fp32 on
>= 95% of validation images; EfficientNet-Lite0 does not yet (about 72% of photos with oneDNN, 42% with the
x86 backend's 7-bit activations): its ReLU6 is not fused with the conv before it, so each conv's output is
quantized over its whole range rather than ReLU6's [0, 6].
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.config import ModelConfig
from core.errors import WeightsError
from core.models.efficientnet_lite import ConvBNAct, EfficientNetLite
from core.models.registry import Classifier, InputSpec, build_model
from core.models.transfer import BACKBONE_SIZE, TransferNet

__all__ = [
    "BACKEND",
    "SCHEME",
    "agreement",
    "int8_meta",
    "int8_state_dict",
    "load_int8_model",
    "model_size_mb",
    "quantize_model",
]

IMAGENET_MODEL = "imagenet_lite0"  # the ModelConfig name of an int8 copy of the built-in model

BACKEND = "onednn"  # oneDNN int8 kernels (VNNI/AMX here); full 8-bit activations, no reduce_range
SCHEME = "int8 static (torch.ao FX, oneDNN backend, per-channel weights, last layer fp32)"


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
        net._modules["backbone"] = Int8Backbone(quantized)
        out._modules["net"] = net
    else:
        out._modules["net"] = quantized
    return out.eval()


def quantize_model(
    model: Classifier, input_shape: tuple[int, ...], calibration: Iterable[torch.Tensor] | None = None
) -> Classifier:
    """Return an int8 copy of `model` (taking [0, 1] images of `input_shape` (C, H, W)).

    Calibration batches are [0, 1] images as the model takes them; without any (when rebuilding a saved int8
    model before loading its state dict) the scales are placeholders.
    """
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = BACKEND
    model = model.float().cpu().eval()
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


def int8_meta(source: str) -> dict[str, Any]:
    """Return what a saved int8 model records about itself: the scheme and the model it came from."""
    return {"scheme": SCHEME, "backend": BACKEND, "source": source}


@torch.no_grad()
def agreement(fp32: nn.Module, int8: nn.Module, images: torch.Tensor, batch: int = 32) -> float:
    """Return the share of images (N, C, H, W) in [0, 1] on which both models give the same top-1 class."""
    same = 0
    for x in images.split(batch):
        same += int((fp32(x).argmax(1) == int8(x).argmax(1)).sum())
    return same / max(len(images), 1)


def _float_skeleton(model: ModelConfig, spec: InputSpec) -> Classifier:
    """Return the float model a saved int8 run was made from, with any weights (they are replaced)."""
    if model.name == IMAGENET_MODEL:
        from core.models.efficientnet_lite import efficientnet_lite0

        return Classifier(efficientnet_lite0(len(spec.classes), pretrained=False), spec.mean, spec.std)
    return build_model(ModelConfig(model.name), spec)


def load_int8_model(state_dict: dict[str, torch.Tensor], meta: dict[str, Any], spec: InputSpec) -> nn.Module:
    """Rebuild a saved int8 model: float skeleton, the same int8 conversion, then its state dict."""
    model = quantize_model(
        _float_skeleton(ModelConfig.from_dict(meta["model"]), spec), (spec.channels, spec.height, spec.width)
    )
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        raise WeightsError(f"The int8 weights do not fit their model: {exc}") from exc
    return model.eval()


def int8_state_dict(model: ModelConfig, spec: InputSpec) -> dict[str, Any]:
    """Return the state dict an int8 model of this config holds (placeholder values), to check a bundle against."""
    skeleton = _float_skeleton(model, spec)
    return quantize_model(skeleton, (spec.channels, spec.height, spec.width)).state_dict()
