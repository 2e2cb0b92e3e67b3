"""The memory a CPU training job needs, estimated before it starts, so a job that cannot fit is refused, not killed.

Training holds the weights, their gradients and the optimiser's state, and for each image of a batch the
activations autograd keeps for the backward pass. Those grow with the batch and the image: fine-tuning
EfficientNet-Lite0 (every image brought to 224 pixels) keeps 75 MB per image, so its batch of 64 needs 4.8 GB,
and such a job took its process to 9.5 GB; a machine or a 1 GB host out of memory kills the whole server, every
visitor's work with it. The activations are counted by running one image through the model and adding up
what autograd saves for the backward pass. Against three real Adam steps under the server's allocator, estimate
vs peak growth: the fine-tuned Lite0 656 vs 693 MB at batch 8 and 1,260 vs 1,311 MB at 16; ResNet-18 460 vs
458 MB (32 pixels, batch 64) and 745 vs 729 MB (64 pixels, batch 32); a job may take 3/4 of what is free.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from core.config import TrainConfig
from core.errors import LimitError
from core.models.registry import eval_mode
from core.sharing import _env_number

__all__: list[str] = []  # checked in core.train_runs.prepare_run; not part of core's public API

_MB = 1 << 20
FREE_SHARE = 0.75  # of the memory free when a job starts, what the job may take (other visitors go on meanwhile)
PROBE_SIDE = 64  # larger images: the activations are extrapolated from two smaller ones
MOMENTS = {"adam": 2, "adamw": 2, "sgd": 1}  # optimiser state per trainable weight (SGD: its momentum)


@dataclass(frozen=True)
class JobMemory:
    """What a training job holds at its peak, in MB: weights with their gradients and optimiser state, and
    the activations kept per image of a batch."""

    weights_mb: float
    per_image_mb: float
    batch_size: int

    @property
    def total_mb(self) -> float:
        return self.weights_mb + self.per_image_mb * self.batch_size

    def largest_batch(self, budget_mb: float) -> int:
        """Return the largest batch that fits `budget_mb` (0 when not even one image does)."""
        room = budget_mb - self.weights_mb
        return max(0, math.floor(room / self.per_image_mb)) if self.per_image_mb > 0 else self.batch_size


def _probe(model: nn.Module, channels: int, height: int, width: int) -> float:
    """Return the bytes autograd keeps for one image of (channels, height, width), the model's weights left out.

    The image runs through the model in eval mode (batch norm cannot train on one), gradients on, and what
    autograd saves for backward is added up; it is freed as the call returns.
    """
    weights = {p.data_ptr() for p in model.parameters()}
    kept: dict[int, int] = {}
    held: list[torch.Tensor] = []  # alive till the end, so no two share an address

    def pack(t: torch.Tensor) -> int:
        storage = t.untyped_storage()
        if storage.data_ptr() not in weights:
            kept[storage.data_ptr()] = storage.nbytes()
        held.append(t)
        return len(held) - 1  # the graph keeps an index: a tensor saved by its own grad_fn would make a cycle
        # that keeps the whole graph, the model's weights with it, after the job (43 MB of ResNet-18 was)

    try:
        with eval_mode(model), torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, held.__getitem__):
            model(torch.zeros(1, channels, height, width))
    finally:
        held.clear()
    return float(sum(kept.values()))


def _saved_bytes_per_image(model: nn.Module, channels: int, height: int, width: int) -> float:
    """Return the bytes autograd keeps per image; images over PROBE_SIDE squared are extrapolated from two smaller
    ones, as a + b * area (a network that resizes its input keeps a; one that does not, b * area), so the probe
    never needs much memory itself."""
    if height * width <= PROBE_SIDE**2:
        return _probe(model, channels, height, width)
    sizes = [
        (max(1, round(height * side / max(height, width))), max(1, round(width * side / max(height, width))))
        for side in (PROBE_SIDE // 2, PROBE_SIDE)
    ]
    (h1, w1), (h2, w2) = sizes
    try:
        small, big = (_probe(model, channels, h, w) for h, w in sizes)
    except RuntimeError:  # a network built for its one image size (a linear layer on all its pixels)
        return _probe(model, channels, height, width)
    slope = (big - small) / (h2 * w2 - h1 * w1)
    return big + slope * (height * width - h2 * w2)


def estimate_job_memory(model: nn.Module, channels: int, height: int, width: int, train: TrainConfig) -> JobMemory:
    """Estimate what training `model` on images (channels, height, width) with `train`'s settings holds (fp32)."""
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    trainable = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    state = trainable * (1 + MOMENTS.get(train.optimizer, 2))  # its gradient and the optimiser's moments
    per_image = _saved_bytes_per_image(model, channels, height, width)
    return JobMemory((weights + state) / _MB, per_image / _MB, train.batch_size)


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _stat(path: Path, key: str) -> int:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in lines if line.split()[0] == key), 0)


def _own_cgroups(proc: Path, cgroup: Path) -> list[tuple[Path, str]]:
    """Return this process's memory cgroup folders with their version's names: (folder, "v1" or "v2")."""
    try:
        lines = (proc / "self" / "cgroup").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:  # "4:memory:/path" (v1), "0::/path" (v2)
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            found.append((cgroup / "memory" / path.lstrip("/"), "v1"))
        elif controllers == "":
            found.append((cgroup / path.lstrip("/"), "v2"))
    return found


_CGROUP_FILES = {  # limit, usage, statistics, the page cache it can drop
    "v1": ("memory.limit_in_bytes", "memory.usage_in_bytes", "memory.stat", "total_inactive_file"),
    "v2": ("memory.max", "memory.current", "memory.stat", "inactive_file"),
}


def free_memory_mb(proc: Path = Path("/proc"), cgroup: Path = Path("/sys/fs/cgroup")) -> float | None:
    """Return the memory free for this process now, in MB: the machine's, or its container's if less; None if unknown.

    A container (Streamlit Community Cloud, Docker) caps memory with a cgroup: its limit less what it uses,
    the page cache it can drop not counted as used.
    """
    free = _stat(proc / "meminfo", "MemAvailable:") * 1024 or None
    for folder, version in _own_cgroups(proc, cgroup):
        limit_file, usage_file, stat_file, cache_key = _CGROUP_FILES[version]
        limit, usage = _read_int(folder / limit_file), _read_int(folder / usage_file)
        if limit is not None and usage is not None and limit < 1 << 60:  # v1's "no limit" is a huge number
            room = limit - (usage - _stat(folder / stat_file, cache_key))
            free = room if free is None else min(free, room)
    return None if free is None else max(0.0, free / _MB)


def memory_budget_mb() -> float | None:
    """Return the memory a training job may take, in MB: LIGHTBOX_JOB_MB, else 3/4 of what is free now."""
    if os.environ.get("LIGHTBOX_JOB_MB", "").strip():
        return _env_number("LIGHTBOX_JOB_MB", 0.0)
    free = free_memory_mb()
    return None if free is None else free * FREE_SHARE


def _size(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:,.0f} MB"


def check_job_memory(need: JobMemory, model_title: str, budget_mb: float | None = None) -> None:
    """Raise LimitError, saying which batch would fit, when a job needs more memory than `budget_mb` (default: the
    job budget now, see memory_budget_mb)."""
    budget = memory_budget_mb() if budget_mb is None else budget_mb
    if budget is None or need.total_mb <= budget:
        return
    fits = need.largest_batch(budget)
    advice = f"At most {fits} images a batch fit: choose a smaller batch or a lighter model." if fits else ""
    raise LimitError(
        f"In batches of {need.batch_size}, {model_title} needs about {_size(need.total_mb)} of memory to train "
        f"({_size(need.per_image_mb)} per image): more than this machine can give a training job now "
        f"({_size(budget)}). {advice or 'Choose a lighter model: not even one image a batch fits.'}"
    )
