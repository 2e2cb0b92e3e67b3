"""Look inside a convolutional network: the layers an image passes through and what each one sees."""

from __future__ import annotations

import math
import threading
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image
from torch import nn

from core.errors import LightboxError
from core.explain import CONVOLUTIONS, INT8_EXPLAIN_MESSAGE, NO_CONV_MESSAGE, colorize, has_conv, is_quantized
from core.inference import Predictor, prepare_image
from core.models.registry import eval_mode

__all__ = ["draw_feature_maps", "list_layers"]


class Layer(NamedTuple):
    """A layer whose output is a stack of feature maps: its module name, map count and map size."""

    name: str
    channels: int
    size: tuple[int, int]  # (h, w)


def _is_stage_list(module: nn.Module) -> bool:
    """Say whether a module is a Sequential of blocks that all convolve (a ResNet layer, Lite0's blocks)."""
    children = list(module.children())
    return isinstance(module, nn.Sequential) and len(children) > 1 and all(has_conv(c) for c in children)


def _units(module: nn.Module, prefix: str = "") -> list[str]:
    """Return the names of the blocks a user can pick: one level below the trunk's convolving stages."""
    convs = [(name, child) for name, child in module.named_children() if has_conv(child)]
    if len(convs) == 1 and not isinstance(convs[0][1], CONVOLUTIONS):  # a wrapper: descend
        name, child = convs[0]
        return _units(child, f"{prefix}{name}.")
    names: list[str] = []
    for name, child in convs:
        if _is_stage_list(child):
            names += [f"{prefix}{name}.{sub}" for sub, _ in child.named_children()]
        else:
            names.append(f"{prefix}{name}")
    return names


def _capture(model: nn.Module, x: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
    """Run the model once on x (1, C, H, W) and return each named module's output, in call order."""
    outputs: dict[str, torch.Tensor] = {}
    handles = []
    caller = threading.get_ident()  # a shared model may run for another session meanwhile: not our image
    for name in names:

        def keep(_m: nn.Module, _i: object, out: object, name: str = name) -> None:
            mine = threading.get_ident() == caller
            if mine and isinstance(out, torch.Tensor) and out.dim() == 4 and name not in outputs:
                outputs[name] = out.detach().float()  # (1, K, h, w)

        handles.append(model.get_submodule(name).register_forward_hook(keep))
    try:
        with eval_mode(model), torch.inference_mode():
            model(x.contiguous(memory_format=torch.channels_last))
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def conv_layers(model: nn.Module, input_shape: tuple[int, int, int]) -> list[Layer]:
    """List the convolution blocks of a model for inputs (C, H, W), from shallow to deep, with their map sizes."""
    names = _units(model)
    if not names:
        raise LightboxError(INT8_EXPLAIN_MESSAGE if is_quantized(model) else NO_CONV_MESSAGE)
    outputs = _capture(model, torch.zeros(1, *input_shape), names)  # dict preserves the order of the calls
    return [Layer(name, int(out.shape[1]), (int(out.shape[2]), int(out.shape[3]))) for name, out in outputs.items()]


def feature_maps(
    model: nn.Module, x: torch.Tensor, layer_name: str, max_maps: int = 32, normalize: bool = True
) -> np.ndarray:
    """Return up to max_maps feature maps (K, h, w) of one layer for an image x (1, C, H, W) in [0, 1].

    The most varied maps are kept, in channel order; `normalize` scales each to [0, 1] for display.
    """
    try:
        model.get_submodule(layer_name)
    except AttributeError as exc:
        raise LightboxError(f"This model has no layer called '{layer_name}'.") from exc
    maps = _capture(model, x, [layer_name]).get(layer_name)
    if maps is None:
        raise LightboxError(f"The layer '{layer_name}' was not used by this model's forward pass.")
    maps = maps[0]  # (K, h, w)
    spread = maps.flatten(1).std(dim=1)  # (K,)
    keep = spread.argsort(descending=True, stable=True)[:max_maps].sort().values  # (k,)
    maps = maps[keep]  # (k, h, w)
    if normalize:
        low = maps.amin(dim=(1, 2), keepdim=True)  # (k, 1, 1)
        span = maps.amax(dim=(1, 2), keepdim=True) - low  # (k, 1, 1)
        maps = torch.where(span > 0, (maps - low) / span.clamp_min(1e-12), torch.zeros_like(maps))
    return maps.cpu().numpy().astype(np.float32)


def feature_grid(maps: np.ndarray, columns: int = 8, tile: int = 96, gap: int = 2) -> Image.Image:
    """Lay out maps (K, h, w) in [0, 1] as a grid of viridis tiles, enlarged with square pixels."""
    count, h, w = maps.shape
    scale = max(1, round(tile / max(h, w)))
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    th, tw = h * scale, w * scale
    grid = Image.new("RGB", (columns * tw + (columns - 1) * gap, rows * th + (rows - 1) * gap), "white")
    for i, fmap in enumerate(maps):
        tile_image = Image.fromarray(colorize(fmap)).resize((tw, th), Image.Resampling.NEAREST)
        grid.paste(tile_image, ((i % columns) * (tw + gap), (i // columns) * (th + gap)))
    return grid


def list_layers(predictor: Predictor) -> list[Layer]:
    """List the layers of a predictor's model that can be looked inside, shallow to deep."""
    spec = predictor.spec
    return conv_layers(predictor.model, (spec.channels, spec.height, spec.width))


def draw_feature_maps(predictor: Predictor, image: Image.Image, layer_name: str, max_maps: int = 32) -> Image.Image:
    """Return a grid picture of what one layer of the predictor's model sees in an image."""
    maps = feature_maps(predictor.model, prepare_image(image, predictor.spec), layer_name, max_maps)  # (K, h, w)
    return feature_grid(maps)
