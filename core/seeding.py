"""One seed, one run, however many runs train at once in the process.

torch draws initial weights and dropout masks from one generator per process, shared by every thread. A
server trains each visitor's job in a thread of its own, so two jobs at once drew each other's numbers: a
small CNN trained for two epochs beside another job ended at a validation loss of 0.0587 instead of the
0.0621 it reaches alone with the same seed (tests/test_seeding.py). Here the process-wide generator is used
by one thread at a time, seeded and put back around each use, and a training job's dropout draws from the
job's own generator. Lightbox's other draws use generators of their own (latency and export inputs, shuffling,
augmentation, calibration); code that draws from torch's shared generator outside `global_generator` while
a run is being built can still change that run's first weights.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

__all__: list[str] = []  # plumbing for training and model building, not part of core's public API

_GLOBAL = threading.RLock()


@contextmanager
def global_generator(seed: int | None = None) -> Iterator[None]:
    """Draw from torch's process-wide CPU generator alone for the block. With a `seed`, it is seeded for the block
    and put back afterwards (the block's draws are the seed's, whatever other threads drew); without, the block
    draws from it as any torch code does, only never in the middle of another thread's seeded block."""
    with _GLOBAL:
        if seed is None:
            yield
            return
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(seed)
            yield


class Dropout(nn.Dropout):
    """nn.Dropout whose masks come from `generator` while one is set (a training run's own), else from torch's
    process-wide generator, as nn.Dropout's do."""

    generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.generator is None or not 0 < self.p < 1:
            return super().forward(x)
        keep = torch.empty(x.shape).bernoulli_(1 - self.p, generator=self.generator)  # drawn on the CPU
        return x * keep.to(x.device, x.dtype) / (1 - self.p)


@contextmanager
def dropout_from(model: nn.Module, generator: torch.Generator) -> Iterator[None]:
    """Let the model's Dropout layers draw their masks from `generator` for the block."""
    layers = [m for m in model.modules() if isinstance(m, Dropout)]
    for layer in layers:
        layer.generator = generator
    try:
        yield
    finally:
        for layer in layers:
            layer.generator = None
