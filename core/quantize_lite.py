"""int8 EfficientNet-Lite run by oneDNN's fused int8 convolutions, called directly from eager PyTorch.

Each convolution keeps int8 weights (one scale per output channel), takes uint8 activations and writes uint8
ones, with BatchNorm folded in and ReLU6 fused (an activation's range is at most [0, 6]: where it is all of
it, the uint8 codes saturate at 0 and 6 by themselves and the kernel's clamp is left out); a residual block's
add is fused into its last convolution. These are the kernels torch.compile emits
for a pt2e-quantized model, here without the compiler. Activations stay uint8 from the first int8 block to
the head, whose 1x1 convolution writes fp32 features for the average pool; the classifier is fp32.

The front stays fp32: the stem (it sees the image) and the first block (FP32_BLOCKS), after which the
activations are quantized once. Measured one quantization point at a time (fake-quantizing only it, logit
MSE against fp32 on 96 photos), the stem's output was by far the most sensitive: 0.0016 of the 0.0043 that
all activations together cost, next the first block's projection (0.0004), every later point <= 0.0003.
Quantizing after the first block (16 channels, not the stem's 32) also halves what the one fp32-to-uint8
step has to write. Keeping any later block in fp32 instead bought little (logit MSE 0.0022 -> 0.0020-0.0023
each): the rest of the error is spread over the blocks. How the activation ranges and biases are set:
core.quantize_calibrate.

At batch 1 the time goes to oneDNN's per-call set-up as much as to its kernels, so the forward pass is one flat
loop of op calls with their arguments bound beforehand (Int8Conv.pack), no module call per conv, and no conv
has an input zero point (those of the 1x1 convs reading a residual stream are folded into their biases): with
one, oneDNN reordered that conv's weights on every call.

The state dict holds only plain tensors (int8 weights, scales, zero points), so it saves and loads with
`weights_only`; oneDNN's packed weights are rebuilt from it after loading.
"""

from __future__ import annotations

import copy
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from core.models.efficientnet_lite import ConvBNAct, EfficientNetLite, MBConv, fold_batchnorm

__all__: list[str] = []  # used through core.quantize

RELU6 = ("hardtanh", [0.0, 6.0])
FP32_BLOCKS = 1  # leading MBConv blocks that stay fp32 with the stem (see the module docstring)
QCONV = torch.ops.onednn.qconv2d_pointwise.default if hasattr(torch.ops.onednn, "qconv2d_pointwise") else None
QCONV_ADD = torch.ops.onednn.qconv2d_pointwise.binary if QCONV is not None else None


def _pad_for_stride(conv: nn.Conv2d) -> torch.Tensor:
    """Return the conv's weight with TF 'SAME' padding of a stride-2 conv on even sides built in."""
    return F.pad(conv.weight, (1, 0, 1, 0)) if conv.stride[0] > 1 else conv.weight


def quantize_uint8(x: torch.Tensor, scale: float, zero_point: int) -> torch.Tensor:
    """Return x (float) as uint8 codes for (scale, zero point), keeping its memory format.

    One fused kernel, torch's quint8 quantize, whose bytes a plain uint8 tensor then takes over without a copy
    (`.view(torch.uint8)` would keep the quantized dispatch key, on which ops such as clone crash): the same
    codes as rounding, shifting and clamping in four elementwise ops, about 6x as fast at batch 1 (20 vs 120 us).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quint8 tensors are deprecated; only their kernel is used here
        q = torch.quantize_per_tensor(x, scale, zero_point, torch.quint8)
    return torch.empty(0, dtype=torch.uint8).set_(q.untyped_storage(), q.storage_offset(), q.shape, q.stride())


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
        skip = ("_packed", "_weights", "_rest")  # oneDNN's packed weight, and argument tuples holding it
        twin.__dict__ = {k: copy.deepcopy(v, memo) for k, v in self.__dict__.items() if k not in skip}
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

    def pack(self) -> None:
        """Reorder the int8 weights into oneDNN's layout for the current input scale, and bind the op's arguments.

        The arguments after x (and the residual) are bound once here, not rebuilt per call: batch 1 is mostly
        Python overhead otherwise. A 1x1 conv (no padding) whose input has a non-zero zero point z is given its
        codes as if z were 0, its bias taking off what that adds, x_scale * z * (sum of each filter): exact, and
        oneDNN then needs no per-call weight reorder for the zero point (0.6 ms of 2.6 per image at batch 1).
        Call pack() again after changing the bias.
        """
        x_q = (float(self.x_qparams[0]), int(self.x_qparams[1]))
        out_q = (float(self.out_qparams[0]), int(self.out_qparams[1]))
        accum_q = (float(self.accum_qparams[0]), int(self.accum_qparams[1]))
        bias = self.bias
        if x_q[1] and self.weight.shape[-1] == 1 and not any(self.padding):
            filters = self.weight.float().sum((1, 2, 3)) * self.weight_scale
            bias, x_q = bias - x_q[0] * x_q[1] * filters, (x_q[0], 0)
        zero_points = torch.zeros(len(self.weight_scale), dtype=torch.int64)
        geometry = (self.stride, self.padding, [1, 1], self.groups)
        self._packed = torch.ops.onednn.qconv_prepack(self.weight, self.weight_scale, *x_q, *geometry, None)
        self._weights = (*x_q, self._packed, self.weight_scale, zero_points)
        out_dtype = torch.float32 if self.out_float else torch.uint8
        attr, scalars = self.attr, self.scalars
        if attr == RELU6[0] and not self.out_float and out_q[1] == 0 and 6 / out_q[0] > 254.5:
            attr, scalars = "none", []  # uint8 codes of [0, 6] saturate at 0 and 6 by themselves: same codes, faster
        if self.residual:
            self._rest = (bias, *geometry, *out_q, out_dtype, *accum_q, "sum", 1.0, "none", [], "")
        else:
            self._rest = (bias, *geometry, *out_q, out_dtype, attr, scalars, "")
        self.out_q = out_q

    def forward(self, x: torch.Tensor, accum: torch.Tensor | None = None) -> torch.Tensor:
        """Convolve uint8 x (B, C, H, W), channels_last; add accum (uint8, the block's input) if residual.

        oneDNN writes the sum over accum: the block's input is spent.
        """
        if accum is None:
            return QCONV(x, *self._weights, *self._rest)
        return QCONV_ADD(x, *self._weights, accum, *self._rest)


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
    """EfficientNet-Lite with int8 blocks: fp32 front (stem, first block), uint8 blocks, head conv to fp32."""

    def __init__(self, folded: EfficientNetLite) -> None:
        super().__init__()
        self.input_spec = folded.input_spec
        front = [folded.stem, *(conv for block in folded.blocks[:FP32_BLOCKS] for conv in _convs(block))]
        self.front = nn.Sequential(*(Fp32Conv(conv) for conv in front))
        self.register_buffer("front_qparams", torch.tensor([1.0, 0.0]))  # the uint8 codes of the front's output
        self.blocks = nn.Sequential(*(Int8MBConv(b) for b in folded.blocks[FP32_BLOCKS:]))
        self.head = Int8Conv(folded.head, out_float=True)
        self.classifier = folded.classifier
        self.requires_grad_(False)
        self.register_load_state_dict_post_hook(lambda module, _: module.pack())
        self.pack()

    def pack(self) -> None:
        """Read the front's output scale and zero point into Python numbers, and list each block's int8 convs."""
        self._threads = torch.get_num_threads()  # what the convs' weights were packed for (they pack first)
        self._front_q = (float(self.front_qparams[0]), int(self.front_qparams[1]))
        self._plan = tuple(
            (
                block.residual,
                tuple(c for c in (block.expand, block.depthwise, block.project) if isinstance(c, Int8Conv)),
            )
            for block in self.blocks
        )

    def front_codes(self, x: torch.Tensor) -> torch.Tensor:
        """Return the fp32 front's output for normalised images (B, 3, H, W) as uint8 codes (B, 16, H/2, W/2)."""
        return quantize_uint8(self.front(x.contiguous(memory_format=torch.channels_last)), *self._front_q)

    def repack(self) -> None:
        """Pack every conv's weights again, for the thread count torch uses now.

        oneDNN picks some convs' weight layout by thread count; weights packed for another count are reordered
        on every call (Lite0 packed with 2 threads, run with 1: 50 ms a photo instead of 6).
        """
        for module in self.modules():
            if isinstance(module, _Packed):
                module.pack()
        self.pack()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return pooled fp32 features (B, 1280) for normalised images (B, 3, H, W)."""
        if torch.get_num_threads() != self._threads:  # torch.set_num_threads was called since packing
            self.repack()
        x = self.front_codes(x)  # (B, 16, H/2, W/2) uint8
        for residual, convs in self._plan:  # the blocks as one flat loop of op calls: batch 1 is mostly dispatch
            y = x
            for conv in convs[:-1]:
                y = QCONV(y, *conv._weights, *conv._rest)
            last = convs[-1]
            x = QCONV_ADD(y, *last._weights, x, *last._rest) if residual else QCONV(y, *last._weights, *last._rest)
        return self.head(x).mean(dim=(2, 3))  # (B, 1280) from (B, 320, H/32, W/32) uint8

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return class logits (B, num_classes) for normalised images (B, 3, H, W)."""
        return self.classifier(self.forward_features(x))


def _convs(block: MBConv) -> list[ConvBNAct]:
    """Return an MBConv's convolutions in order (one without a residual: the fp32 front has no add)."""
    if block.residual:
        raise ValueError("an fp32 front block with a residual add is not supported")
    return [conv for conv in (block.expand, block.depthwise, block.project) if isinstance(conv, ConvBNAct)]


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
