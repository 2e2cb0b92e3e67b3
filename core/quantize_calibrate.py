"""Calibration of the int8 EfficientNet-Lite (core.quantize_lite): equalization, ranges, rounding, bias correction.

What it calibrates on: for the built-in ImageNet model, core.data.photos.calibration_photos (32 crops, mirror
images and brightness changes of the 6 bundled photos, seed 1); the photo set it is checked on is other
variants of the same photos (seed 0), and benchmarks/quantization.py also checks a held-out set (seed 7) that
nothing here was tuned on. A trained run calibrates on 256 of its training images, and is checked on its
validation images.

Each step was kept for what it measured on both photo sets against fp32 (logit MSE; top-1 agreement moves by
a few near-ties either way, 11 photos of the set have fp32's top two logits within 0.07):
- Stream equalization: between blocks, a residual stream has no activation function, so scaling its channel c
  by g_c in the convs that write it and by 1/g_c in those that read it changes nothing in fp32. With g_c =
  (max_c' peak_c' / peak_c) ** EQUALIZE, the quiet channels use more of the per-tensor uint8 steps. 0.5 (logit
  MSE 0.0021) beat 1 (0.0024, the readers' weights round worse) and none (0.0022): a small gain.
- Ranges minimise each activation's own quantization error over sampled calibration values, instead of
  spanning its min and max. The projections (no ReLU6, outliers to +-60) then clip at about 80% of their
  extremes, with finer steps for the bulk; ReLU6 outputs keep [0, 6] (clipping them never paid).
- Depthwise weights are rounded by GPTQ on the inputs the int8 net gives each conv (core.quantize_rounding),
  before its bias is corrected: logit MSE 0.0020 (from 0.0021) on both sets, 213 of 216 photos agree (from
  212) and 215 of 216 held out (from 213).
- Bias correction is empirical: conv by conv, in order, the int8 net runs beside the fp32 one on the
  calibration images, and each conv's bias takes off the mean shift per channel of its (dequantized) output
  against fp32, twice over (ReLU6 clamps part of each shift). This corrects the shift from weight rounding
  and from the activations' rounding and clipping upstream, not only the former.
With the fp32 front, logit MSE against fp32 fell from 0.0074 (min/max ranges, weight-rounding correction only,
the stem alone fp32) to 0.0021 on both photo sets.
Calibrating on 256 variants instead of 32 gave 0.0020 at 8x the time, so 32 stay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from core.models.efficientnet_lite import ConvBNAct, EfficientNetLite
from core.quantize_lite import FP32_BLOCKS, Int8Conv, Int8EfficientNetLite
from core.quantize_rounding import depthwise_moments, gptq_round_depthwise

__all__: list[str] = []  # used through core.quantize

Forward = Callable[[nn.Module, torch.Tensor], object]  # runs a batch through the model with this net in it
SAMPLES = 100_000  # values per activation the range search sees
# Values kept per activation over all batches, the range search's pick drawn from them: 4 batches keep SAMPLES
# each (the built-in model's 32 photos), more keep fewer each. Kept per batch, a run's 256 calibration images
# (32 batches) held 576 MB of samples for a Lite0 transfer run.
KEPT_SAMPLES = 4 * SAMPLES
# Calibration images bias correction runs on, all at once: each holds its 224-pixel activations. With 128 a
# Lite0 transfer run's int8 copy peaked at +1,267 MB in a server (sampling as before), now +525 MB, agreeing
# with fp32 on 99.38% of 800 shapes against 99.12% (benchmarks/int8_memory.py); the built-in model has 32 photos.
CORRECTION_IMAGES = 32
CORRECTION_ROUNDS = 2
EQUALIZE = 0.5  # 0: none; 1: every channel of a stream scaled to the same max |value| (see the docstring)


def _streams(net: EfficientNetLite) -> list[tuple[list[nn.Module], list[nn.Conv2d], list[nn.Conv2d]]]:
    """Return each residual stream's (points that output it, convs that write it, convs that read it)."""
    streams: list[tuple[list[nn.Module], list[nn.Conv2d], list[nn.Conv2d]]] = []
    for block in net.blocks:
        if streams and isinstance(block.expand, ConvBNAct):
            streams[-1][2].append(block.expand.conv)
        if not block.residual:
            streams.append(([], [], []))
        streams[-1][0].append(block if block.residual else block.project)
        streams[-1][1].append(block.project.conv)
    streams[-1][2].append(net.head.conv)
    return streams


def _equalize(folded: EfficientNetLite, batches: list[torch.Tensor], forward: Forward) -> None:
    """Scale each residual stream's channels to one range: exact in fp32 (no activation on a stream)."""
    streams = _streams(folded)
    peaks: dict[nn.Module, torch.Tensor] = {}

    def peak(module: nn.Module, out: torch.Tensor) -> None:
        top = out.detach().abs().amax((0, 2, 3))
        peaks[module] = torch.maximum(peaks[module], top) if module in peaks else top

    hooks = [m.register_forward_hook(lambda m, _, out: peak(m, out)) for points, _, _ in streams for m in points]
    for x in batches:
        forward(folded, x)
    for hook in hooks:
        hook.remove()
    for points, writers, readers in streams:
        top = torch.stack([peaks[m] for m in points]).amax(0).clamp_min(1e-6)  # (C,)
        gain = (top.max() / top) ** EQUALIZE
        for conv in writers:
            conv.weight.mul_(gain.view(-1, 1, 1, 1))
            conv.bias.mul_(gain)
        for conv in readers:
            conv.weight.div_(gain.view(1, -1, 1, 1))


@torch.no_grad()
def calibrate(folded: EfficientNetLite, batches: Iterable[torch.Tensor], forward: Forward) -> Int8EfficientNetLite:
    """Return the int8 net of a BN-folded one, calibrated on batches run by `forward` through a model using it."""
    batches = list(batches)
    if batches:
        _equalize(folded, batches, forward)
    net = Int8EfficientNetLite(folded)
    ranges, inputs = _measure(folded, batches, forward)
    if not ranges:  # no calibration: placeholder scales, for a saved state dict to replace
        return net
    set_qparams(net, ranges)
    _correct_biases(net, folded, inputs)
    return net


def _observed_points(net: EfficientNetLite) -> dict[str, nn.Module]:
    """Return the modules whose outputs become uint8 activations: the fp32 front, each conv, each residual sum."""
    points: dict[str, nn.Module] = {"front": net.blocks[FP32_BLOCKS - 1]}
    for i, block in enumerate(net.blocks):
        if i < FP32_BLOCKS:
            continue
        for part in ("expand", "depthwise"):
            if isinstance(getattr(block, part), ConvBNAct):
                points[f"{i}.{part}"] = getattr(block, part)
        points[f"{i}.project"] = block if block.residual else block.project  # a residual block: the sum
    return points


def _measure(
    folded: EfficientNetLite, batches: list[torch.Tensor], forward: Forward
) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
    """Run the batches; return each activation's (scale, zero point) and the net's first inputs (normalised)."""
    points = _observed_points(folded)
    per_batch = min(SAMPLES, -(-KEPT_SAMPLES // max(len(batches), 1)))  # values kept from each batch
    seen: dict[str, list[torch.Tensor]] = {name: [] for name in points}
    inputs: list[torch.Tensor] = []
    generator = torch.Generator().manual_seed(0)

    def sample(name: str, out: torch.Tensor) -> None:
        flat = out.detach().float().flatten()
        pick = torch.randint(len(flat), (min(len(flat), per_batch),), generator=generator)
        seen[name].append(torch.cat([flat[pick], flat.min().view(1), flat.max().view(1)]))

    hooks = [m.register_forward_hook(lambda _, __, out, n=n: sample(n, out)) for n, m in points.items()]

    def keep(_: nn.Module, args: tuple[torch.Tensor, ...]) -> None:  # the net's input, for bias correction
        if len(inputs) * len(args[0]) < CORRECTION_IMAGES:
            inputs.append(args[0].detach().float())

    hooks.append(folded.stem.register_forward_pre_hook(keep))
    for x in batches:
        forward(folded, x)
    for hook in hooks:
        hook.remove()
    if not inputs:
        return {}, []
    return {name: _best_qparams(torch.cat(values)) for name, values in seen.items()}, inputs


def _best_qparams(values: torch.Tensor) -> torch.Tensor:
    """Return the (scale, zero point) whose range, within [min, max] of values, quantizes them with least error.

    Coordinate search: the top of the range at 50-100% of the max, then the bottom likewise, then the top again.
    """
    values = values[torch.randperm(len(values), generator=torch.Generator().manual_seed(0))[:SAMPLES]]
    low, high = min(float(values.min()), 0.0), max(float(values.max()), 1e-6)
    shares = [0.5 + 0.025 * i for i in range(21)]
    for side in ("high", "low", "high"):
        if side == "low" and low == 0.0:
            continue
        trials = [(low, high * s) if side == "high" else (low * s, high) for s in shares] + [(low, high)]
        low, high = min(trials, key=lambda r: _error(values, *_scale_zero(*r)))
    return torch.tensor(_scale_zero(low, high))


def _scale_zero(low: float, high: float) -> tuple[float, float]:
    scale = (high - low) / 255
    return scale, float(min(max(round(-low / scale), 0), 255))


def _error(values: torch.Tensor, scale: float, zero_point: float) -> float:
    codes = torch.round(values / scale).add_(zero_point).clamp_(0, 255)
    return float(codes.sub_(zero_point).mul_(scale).sub_(values).square_().mean())


def set_qparams(net: Int8EfficientNetLite, qparams: dict[str, torch.Tensor]) -> Int8EfficientNetLite:
    """Give each int8 conv the (scale, zero point) of its input, output and residual; pack its weights again."""
    net.front_qparams.copy_(qparams["front"])
    net.pack()
    x = qparams["front"]
    for i, block in enumerate(net.blocks, start=FP32_BLOCKS):
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


def _correct_biases(net: Int8EfficientNetLite, folded: EfficientNetLite, inputs: list[torch.Tensor]) -> None:
    """Run int8 and fp32 side by side, conv by conv; move each int8 bias by the mean output shift against fp32."""
    xf = [folded.blocks[:FP32_BLOCKS](folded.stem(x)) for x in inputs]  # fp32 activations, batch by batch
    xq = [net.front_codes(x) for x in inputs]
    for block, twin in zip(net.blocks, folded.blocks[FP32_BLOCKS:], strict=True):
        pairs = [(getattr(block, p), getattr(twin, p)) for p in ("expand", "depthwise", "project")]
        yq, yf = xq, xf  # each batch's output of the block's convs so far (their biases corrected already)
        for q, f in (pair for pair in pairs if isinstance(pair[0], Int8Conv)):
            _round_weights(q, f.conv, yq)
            yf = [f(y) + x if q.residual else f(y) for y, x in zip(yf, xf, strict=True)]
            target = sum(y.mean((0, 2, 3)) for y in yf)
            for _ in range(CORRECTION_ROUNDS):
                outs = (_step(q, y, x) for y, x in zip(yq, xq, strict=True))
                q.bias += (target - sum(_dequantize(y, q).mean((0, 2, 3)) for y in outs)) / len(xq)
                q.pack()
            yq = [_step(q, y, x) for y, x in zip(yq, xq, strict=True)]
        xq, xf = yq, yf
    for _ in range(CORRECTION_ROUNDS):
        shift = sum(folded.head(a).mean((0, 2, 3)) - net.head(b).mean((0, 2, 3)) for a, b in zip(xf, xq, strict=True))
        net.head.bias += shift / len(xq)
        net.head.pack()


def _round_weights(q: Int8Conv, conv: nn.Conv2d, inputs: list[torch.Tensor]) -> None:
    """Round a stride-1 depthwise conv's weights by GPTQ on its int8 inputs (uint8 codes); pack it again."""
    if conv.groups == 1 or conv.stride[0] != 1:  # 1x1 convs, and stride 2 (weights padded for 'SAME'): nearest
        return
    scale, zero_point = float(q.x_qparams[0]), float(q.x_qparams[1])
    h = depthwise_moments([(x.float() - zero_point) * scale for x in inputs], conv.weight.shape[-1], q.padding)
    q.weight.copy_(gptq_round_depthwise(conv.weight.flatten(1), q.weight_scale, h).view_as(q.weight))
    q.pack()


def _step(q: Int8Conv, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Run one int8 conv on `y`; a residual project conv adds the block input `x` (a copy: oneDNN writes it)."""
    return q(y, x.clone()) if q.residual else q(y)


def _dequantize(y: torch.Tensor, conv: Int8Conv) -> torch.Tensor:
    scale, zero_point = conv.out_q
    return y.float() if y.dtype != torch.uint8 else (y.float() - zero_point) * scale
