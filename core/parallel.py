"""Data-parallel plumbing under torchrun: one process per device, each on its own shard of every epoch.

`torchrun --nproc_per_node N -m core train ...` starts N copies of the command line. Each copy holds the
whole dataset, draws the same seeded permutation each epoch and trains on every N-th image of it, with
batch_size / N images per step: together the N processes step on exactly the batch one process would,
and DistributedDataParallel averages their gradients. Only rank 0 records the run
(`core.train_runs.train_distributed`, beside `train_run`); this leaf module knows nothing of runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as torch_dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from core.devices import training_device
from core.errors import TrainingError

__all__: list[str] = []  # the command line and the training loop use these; the dashboard never does

_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


def launched_by_torchrun() -> bool:
    """Say whether this process is one of several started by torchrun (it sets RANK, WORLD_SIZE, LOCAL_RANK)."""
    return all(name in os.environ for name in _ENV)


def shard_order(order: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """Return rank's share of an epoch's order: every world_size-th index, cut so all ranks get as many."""
    usable = len(order) - len(order) % world_size  # equal shards keep every rank at the same step count
    return order[:usable][rank::world_size]


def rank_batch_size(batch_size: int, world_size: int) -> int:
    """Return the images per step of one process, so the world together steps on `batch_size` images."""
    if batch_size % world_size:
        raise TrainingError(
            f"A batch of {batch_size} images cannot be split evenly over {world_size} processes: "
            f"choose a batch size that is a multiple of {world_size}."
        )
    return batch_size // world_size


@dataclass(frozen=True)
class DistContext:
    """This process's place in a running process group."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, order: torch.Tensor) -> torch.Tensor:
        return shard_order(order, self.rank, self.world_size)

    def shard_size(self, images: int) -> int:
        """Return how many of an epoch's `images` this process trains on."""
        return images // self.world_size

    def rank_batch(self, batch_size: int) -> int:
        return rank_batch_size(batch_size, self.world_size)

    def wrap(self, model: nn.Module) -> nn.Module:
        """Return the model wrapped so that backward() averages gradients over all processes."""
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """Add up `values` over all processes, in place; return them."""
        torch_dist.all_reduce(values, op=torch_dist.ReduceOp.SUM)
        return values


def start_distributed(device: str = "auto", precision: str = "fp32") -> DistContext:
    """Join torchrun's process group: nccl on cuda:LOCAL_RANK, gloo on CPU; return this process's context."""
    rank, world, local = (int(os.environ[name]) for name in _ENV)
    dev = training_device(device, precision)
    if dev.type == "cuda":
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
        torch_dist.init_process_group("nccl", device_id=dev)
    elif dev.type == "cpu":
        torch_dist.init_process_group("gloo")
    else:
        raise TrainingError(f"Training on several processes needs CUDA or the CPU, not {dev.type}.")
    return DistContext(rank, world, local, dev)


def end_distributed() -> None:
    """Leave the process group, if this process joined one."""
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()
