"""int8 EfficientNet-Lite run by oneDNN's fused int8 convolutions, called directly from eager PyTorch.

Each convolution keeps int8 weights (one scale per output channel), takes uint8 activations and writes uint8
ones, with BatchNorm folded in and ReLU6 fused (the kernel clamps at 6, so an activation's range is at most
[0, 6]); a residual block's add is fused into its last convolution. These are the kernels torch.compile emits
for a pt2e-quantized model, here without the compiler. The stem stays fp32 (it sees the raw image) and so does
the classifier; the head's 1x1 convolution writes fp32 features for the average pool.

The state dict holds only plain tensors (int8 weights, scales, zero points), so it saves and loads with
`weights_only`; oneDNN's packed weights are rebuilt from it after loading.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from core.models.efficientnet_lite import ConvBNAct, EfficientNetLite, MBConv, fold_batchnorm

__all__: list[str] = []  # used through core.quantize

RELU6 = ("hardtanh", [0.0, 6.0])


def _pad_for_stride(conv: nn.Conv2d) -> torch.Tensor:
    """Return the conv's weight with TF 'SAME' padding of a stride-2 conv on even sides built in."""
    return F.pad(conv.weight, (1, 0, 1, 0)) if conv.stride[0] > 1 else conv.weight


def quantize_uint8(x: torch.Tensor, qparams: torch.Tensor) -> torch.Tensor:
    """Return x (float) as uint8 codes for (scale, zero point) in `qparams`, keeping its memory format."""
    scale, zero_point = float(qparams[0]), float(qparams[1])
    return torch.round(x * (1.0 / scale)).add_(zero_point).clamp_(0, 255).to(torch.uint8)


class _Packed(nn.Module):
    """A conv whose weights oneDNN holds reordered (an opaque tensor): packed again on loading and copying."""

    _packed: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_load_state_dict_post_hook(lambda module, _: module.pack())

    def pack(self) -> None:
        raise NotImplementedError

    def __deepcopy__(self, memo: dict[int, object]) -> _Packed:
        """Copy without oneDNN's packed weight (an opaque tensor that cannot be copied), then pack again."""
        twin = copy.copy(self)
        twin.__dict__ = {k: copy.deepcopy(v, memo) for k, v in self.__dict__.items() if k != "_packed"}
        twin.pack()
        return twin


class Fp32Conv(_Packed):
    """A BN-folded ConvBNAct in fp32 with ReLU6 fused, by oneDNN (the stem: its input is the image itself).

    Not an nn.Conv2d: like every int8 model, this one offers no Grad-CAM (no gradient crosses its int8 layers).
    """

    def __init__(self, block: ConvBNAct) -> None:
        super().__init__()
        conv = block.conv
        self.register_buffer("weight", _pad_for_stride(conv).detach().float().contiguous())
        self.register_buffer("bias", conv.bias.detach().float().clone())
        self.stride, self.padding, self.groups = list(conv.stride), list(conv.padding), conv.groups
        self.attr, self.scalars = RELU6 if isinstance(block.act, nn.ReLU6) else ("none", [])
        self.pack()

    def pack(self) -> None:
        """Reorder the weights into oneDNN's layout."""
        weight = self.weight.contiguous(memory_format=torch.channels_last)
        self._packed = torch.ops.mkldnn._reorder_convolution_weight(
            weight, self.padding, self.stride, [1, 1], self.groups
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) fp32, channels_last
        args = (self.padding, self.stride, [1, 1], self.groups, self.attr, self.scalars, "")
        return torch.ops.mkldnn._convolution_pointwise(x, self._packed, self.bias, *args)


class Int8Conv(_Packed):
    """A BN-folded conv (+ ReLU6, + residual add) on uint8 activations with int8 per-channel weights."""

    def __init__(self, block: ConvBNAct, out_float: bool = False, residual: bool = False) -> None:
        super().__init__()
        conv = block.conv
        weight = _pad_for_stride(conv).detach().float()  # (C_out, C_in / groups, k, k)
        scale = weight.abs().amax(dim=(1, 2, 3)).clamp_min(1e-12) / 127  # (C_out,)
        self.register_buffer("weight", torch.round(weight / scale.view(-1, 1, 1, 1)).clamp(-127, 127).to(torch.int8))
        self.register_buffer("weight_scale", scale)
        self.register_buffer("bias", conv.bias.detach().float().clone())
        for name in ("x_qparams", "out_qparams", "accum_qparams"):  # (scale, zero point) each, set by calibration
            self.register_buffer(name, torch.tensor([1.0, 0.0]))
        self.stride, self.padding, self.groups = list(conv.stride), list(conv.padding), conv.groups
        self.attr, self.scalars = RELU6 if isinstance(block.act, nn.ReLU6) else ("none", [])
        self.out_float, self.residual = out_float, residual
        self.pack()

    def correct_bias(self, conv: nn.Conv2d, mean_in: torch.Tensor) -> None:
        """Take the mean shift that rounding the weights causes off the bias, given the mean input (C_in,)."""
        error = (self.weight.float() * self.weight_scale.view(-1, 1, 1, 1) - _pad_for_stride(conv)).sum((2, 3))
        groups = mean_in.view(self.groups, -1)  # (groups, C_in / groups)
        per_group = error.view(self.groups, -1, error.shape[1])  # (groups, C_out / groups, C_in / groups)
        self.bias -= torch.einsum("goi,gi->go", per_group, groups).reshape(-1)

    def pack(self) -> None:
        """Reorder the int8 weights into oneDNN's layout for the current input scale (after any change)."""
        self._x = (float(self.x_qparams[0]), int(self.x_qparams[1]))
        self._out = (float(self.out_qparams[0]), int(self.out_qparams[1]))
        self._accum = (float(self.accum_qparams[0]), int(self.accum_qparams[1]))
        self._zero_points = torch.zeros(len(self.weight_scale), dtype=torch.int64)
        self._packed = torch.ops.onednn.qconv_prepack(
            self.weight, self.weight_scale, *self._x, self.stride, self.padding, [1, 1], self.groups, None
        )

    def forward(self, x: torch.Tensor, accum: torch.Tensor | None = None) -> torch.Tensor:
        """Convolve uint8 x (B, C, H, W), channels_last; add accum (uint8, the block's input) if residual.

        oneDNN writes the sum over accum: the block's input is spent.
        """
        common = (x, *self._x, self._packed, self.weight_scale, self._zero_points)
        geometry = (self.stride, self.padding, [1, 1], self.groups)
        out_dtype = torch.float32 if self.out_float else torch.uint8
        if accum is None:
            return torch.ops.onednn.qconv2d_pointwise(
                *common, self.bias, *geometry, *self._out, out_dtype, self.attr, self.scalars, ""
            )
        return torch.ops.onednn.qconv2d_pointwise.binary(
            *common, accum, self.bias, *geometry, *self._out, out_dtype, *self._accum, "sum", 1.0, "none", [], ""
        )


class Int8MBConv(nn.Module):
    """An MBConv block of Int8Convs: uint8 in, uint8 out."""

    def __init__(self, block: MBConv) -> None:
        super().__init__()
        self.expand = Int8Conv(block.expand) if isinstance(block.expand, ConvBNAct) else nn.Identity()
        self.depthwise = Int8Conv(block.depthwise)
        self.project = Int8Conv(block.project, residual=block.residual)
        self.residual = block.residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.depthwise(self.expand(x))
        return self.project(y, x) if self.residual else self.project(y)


class Int8EfficientNetLite(nn.Module):
    """EfficientNet-Lite with int8 blocks: fp32 stem, uint8 blocks, head conv to fp32, fp32 classifier."""

    def __init__(self, folded: EfficientNetLite) -> None:
        super().__init__()
        self.input_spec = folded.input_spec
        self.stem = Fp32Conv(folded.stem)
        self.register_buffer("stem_qparams", torch.tensor([1.0, 0.0]))
        self.blocks = nn.Sequential(*(Int8MBConv(b) for b in folded.blocks))
        self.head = Int8Conv(folded.head, out_float=True)
        self.classifier = folded.classifier
        self.requires_grad_(False)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return pooled fp32 features (B, 1280) for normalised images (B, 3, H, W)."""
        x = self.stem(x.contiguous(memory_format=torch.channels_last))  # (B, 32, H/2, W/2) fp32
        x = self.blocks(quantize_uint8(x, self.stem_qparams))  # (B, 320, H/32, W/32) uint8
        return self.head(x).mean(dim=(2, 3))  # (B, 1280)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return class logits (B, num_classes) for normalised images (B, 3, H, W)."""
        return self.classifier(self.forward_features(x))


def int8_supported() -> bool:
    """Say whether this PyTorch build has oneDNN's int8 convolution ops (x86 builds do)."""
    try:
        return torch.backends.mkldnn.is_available() and hasattr(torch.ops.onednn, "qconv2d_pointwise")
    except (AttributeError, RuntimeError):
        return False


def folded_copy(net: nn.Module) -> EfficientNetLite:
    """Return an eval copy of an EfficientNet-Lite (plain or prepacked for fp32) with BatchNorm folded."""
    from core.models.efficientnet_lite import PrepackedConv

    net = copy.deepcopy(net).eval()
    for name, module in list(net.named_modules()):
        if isinstance(module, PrepackedConv):
            parent, _, child = name.rpartition(".")
            setattr(net.get_submodule(parent), child, module.block)
    for module in net.modules():
        if isinstance(module, ConvBNAct):
            fold_batchnorm(module)
    return net.to(memory_format=torch.contiguous_format)


def _observed_points(net: EfficientNetLite) -> dict[str, nn.Module]:
    """Return the modules whose outputs become uint8 activations: stem, each conv, each residual block."""
    points: dict[str, nn.Module] = {"stem": net.stem}
    for i, block in enumerate(net.blocks):
        for part in ("expand", "depthwise", "project"):
            if isinstance(getattr(block, part), ConvBNAct) and not (part == "project" and block.residual):
                points[f"{i}.{part}"] = getattr(block, part)
        if block.residual:
            points[f"{i}.project"] = block  # the sum of the block's output and its input
    return points


Forward = Callable[[nn.Module, torch.Tensor], object]  # runs a batch through the model with this net in it


@torch.no_grad()
def calibrate(folded: EfficientNetLite, batches: Iterable[torch.Tensor], forward: Forward) -> Int8EfficientNetLite:
    """Return the int8 net of a BN-folded one, calibrated on batches run by `forward` through a model using it.

    Activation ranges are the min and max that torch.ao's observers see (its histogram observer was no better
    here, and slower). Each conv's bias takes off the mean shift that rounding its weights causes, given its
    mean input: without that correction int8 agreed with fp32 on 88% of the photo set, with it on 97%.
    """
    net = Int8EfficientNetLite(folded)
    qparams, mean_inputs = _measure(folded, batches, forward)
    if not qparams:  # no calibration: placeholder scales, for a saved state dict to replace
        return net
    for name, module in net.named_modules():
        if isinstance(module, Int8Conv):
            module.correct_bias(folded.get_submodule(name).conv, mean_inputs[name])
    return set_qparams(net, qparams)


def _measure(
    folded: EfficientNetLite, batches: Iterable[torch.Tensor], forward: Forward
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Run the batches; return each activation's (scale, zero point) and each conv's mean input per channel."""
    from torch.ao.quantization.observer import MinMaxObserver

    points = _observed_points(folded)
    observers = {name: MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine) for name in points}
    hooks = [m.register_forward_hook(lambda _, __, out, o=observers[n]: o(out.float())) for n, m in points.items()]
    sums: dict[str, torch.Tensor] = {}  # each conv's summed per-channel input means, batch by batch
    convs = {name: m for name, m in folded.named_modules() if isinstance(m, ConvBNAct) and name != "stem"}
    for name, module in convs.items():
        add = lambda _, args, n=name: sums.__setitem__(n, sums.get(n, 0) + args[0].mean((0, 2, 3)))  # noqa: E731
        hooks.append(module.register_forward_pre_hook(add))
    count = 0
    for x in batches:
        forward(folded, x)
        count += 1
    for hook in hooks:
        hook.remove()
    qparams = {name: _qparams(obs) for name, obs in observers.items()} if count else {}
    return qparams, {name: total / count for name, total in sums.items()}


def _qparams(observer: nn.Module) -> torch.Tensor:
    scale, zero_point = observer.calculate_qparams()
    return torch.tensor([float(scale), float(zero_point)])


def set_qparams(net: Int8EfficientNetLite, qparams: dict[str, torch.Tensor]) -> Int8EfficientNetLite:
    """Give each int8 conv the (scale, zero point) of its input, output and residual; pack its weights again."""
    if not qparams:
        return net
    net.stem_qparams.copy_(qparams["stem"])
    x = qparams["stem"]
    for i, block in enumerate(net.blocks):
        if block.residual:
            block.project.accum_qparams.copy_(x)  # the block's input, added to its output
        for part in ("expand", "depthwise", "project"):
            conv = getattr(block, part)
            if isinstance(conv, Int8Conv):
                conv.x_qparams.copy_(x)
                conv.out_qparams.copy_(qparams[f"{i}.{part}"])
                conv.pack()
                x = qparams[f"{i}.{part}"]
    net.head.x_qparams.copy_(x)
    net.head.pack()
    return net
