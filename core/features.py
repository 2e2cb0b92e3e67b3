"""Backbone features computed once and cached, so training a head on a frozen backbone takes seconds."""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

import torch

from core.batching import inference_batch
from core.config import TrainConfig
from core.data.base import ImageDataset, to_float
from core.models.efficientnet_lite import EfficientNetLite, optimize_for_inference
from core.models.registry import Classifier

__all__: list[str] = []  # nothing here is part of core's public API

MAX_CACHED = 8  # feature tensors kept in memory (1,000 images take 5 MB)
_CACHE: OrderedDict[Hashable, torch.Tensor] = OrderedDict()
_LOCK = threading.Lock()
# Inference-optimised backbones by their weights, kept while a served model or a feature pass holds one
_FAST: weakref.WeakValueDictionary[bytes, EfficientNetLite] = weakref.WeakValueDictionary()
_FAST_LOCK = threading.Lock()


def fast_backbone(backbone: EfficientNetLite) -> EfficientNetLite:
    """Return an inference-optimised copy of a CPU backbone, one per set of weights however many ask.

    Every model taught on a frozen Lite0 has the same backbone, so the taught models a server holds share
    one copy (17 MB) instead of each packing its own. Read-only: nothing may change it in place.
    """
    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in backbone.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().numpy())
    key = digest.digest()
    with _FAST_LOCK:  # one build per set of weights, even when several sessions load at once
        fast = _FAST.get(key)
        if fast is None:
            fast = optimize_for_inference(backbone)  # an eval copy: the caller's backbone stays as it is
            _FAST[key] = fast
    return fast


@dataclass(frozen=True)
class FeatureSet:
    """Precomputed backbone features that stand in for a dataset's images, so fit() can train a head."""

    images: torch.Tensor  # (N, D) float features; named like ImageDataset's field so fit() takes either
    labels: torch.Tensor  # (N,)
    classes: tuple[str, ...]
    dark_background: bool = False

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def uses_cached_features(model: Classifier, cfg: TrainConfig) -> bool:
    """Say whether only a head trains on fixed features: a frozen backbone and no augmentation."""
    return bool(getattr(model.net, "frozen", False)) and cfg.augment == "none"


@torch.inference_mode()
def extract_features(model: Classifier, data: ImageDataset, batch_size: int | None = None) -> torch.Tensor:
    """Return the backbone's features (N, D) for every image, with an inference-optimised backbone copy.

    `batch_size`: images per pass; by default as many as core.batching's memory budget holds."""
    net = model.net
    batch_size = batch_size or inference_batch(model, data.images)
    device = next(model.parameters()).device
    fast = fast_backbone(net.backbone) if device.type == "cpu" else net.backbone.eval()
    out = []
    for i in range(0, len(data), batch_size):
        x = model.normalize(to_float(data.images[i : i + batch_size].to(device)))  # (B, C, H, W)
        out.append(net.features(x, backbone=fast).float())
    return torch.cat(out)  # (N, D)


def cached_features(model: Classifier, data: ImageDataset, key: Hashable) -> FeatureSet:
    """Return `data` as features, computing them only the first time `key` is seen."""
    with _LOCK:
        features = _CACHE.get(key)
        if features is not None:
            _CACHE.move_to_end(key)
    if features is None:
        features = extract_features(model, data)
        with _LOCK:
            _CACHE[key] = features
            while len(_CACHE) > MAX_CACHED:
                _CACHE.popitem(last=False)
    return FeatureSet(features, data.labels.to(features.device), data.classes, data.dark_background)
