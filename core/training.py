"""fit(): the training loop over in-memory tensors, with named events and a stop signal."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from core.backward_steps import can_step_in_backward, steps_in_backward
from core.batching import inference_batch
from core.callbacks import Callback, History, StopTraining, TrainState, fire
from core.config import TrainConfig
from core.data.augment import AUGMENTATIONS, augment_batch
from core.data.base import ImageDataset, to_float
from core.devices import PRECISIONS, autocast, grad_scaler, training_device
from core.eager_optim import eager
from core.errors import TrainingError, UnknownNameError
from core.metrics import accuracy
from core.models.registry import eval_mode
from core.seeding import dropout_from, global_generator

if TYPE_CHECKING:
    from core.features import FeatureSet
    from core.parallel import DistContext

__all__ = ["OPTIMIZERS", "SCHEDULES", "FitResult", "fit", "schedule_curve"]

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {  # torch's, minus an import of the compiler (eager_optim)
    "sgd": eager(torch.optim.SGD),
    "adam": eager(torch.optim.Adam),
    "adamw": eager(torch.optim.AdamW),
}
SCHEDULES: tuple[str, ...] = ("constant", "onecycle")
FUSED_DEVICES = ("cpu", "cuda")  # where torch has fused SGD, Adam and AdamW steps
# Step inside backward (core.backward_steps) only where the gradients are worth freeing early: a hook per
# parameter costs the default digits CNN (0.1 MB of gradients) 1.075x its training time for nothing, while
# ResNet-18 (45 MB) peaks 25 MB lower at 1.05x.
IN_BACKWARD_MIN_BYTES = 16 << 20


@dataclass
class FitResult:
    """What fit() returns: the history, whether it was stopped early, and where it ran."""

    history: History
    stopped: bool
    seconds: float
    device: str


def check_config(cfg: TrainConfig) -> None:
    """Raise TrainingError for settings that cannot train."""
    if cfg.optimizer not in OPTIMIZERS:
        raise UnknownNameError("optimizer", cfg.optimizer, list(OPTIMIZERS))
    if cfg.schedule not in SCHEDULES:
        raise UnknownNameError("learning-rate schedule", cfg.schedule, SCHEDULES)
    if cfg.augment not in AUGMENTATIONS:
        raise UnknownNameError("augmentation", cfg.augment, AUGMENTATIONS)
    if cfg.precision not in PRECISIONS:
        raise UnknownNameError("precision", cfg.precision, PRECISIONS)
    wrong = [
        f"{name} must be a {'whole ' if kind is int else ''}number (got {value!r})"
        for name, value, kind in (
            ("epochs", cfg.epochs, int),
            ("batch size", cfg.batch_size, int),
            ("seed", cfg.seed, int),
            ("learning rate", cfg.lr, float),
            ("weight decay", cfg.weight_decay, float),
        )
        if isinstance(value, bool) or not isinstance(value, int if kind is int else (int, float))
    ]
    if wrong:  # TrainConfig(epochs=1.5) from Python: said here, before a run is recorded
        raise TrainingError("Cannot train: " + "; ".join(wrong) + ".")
    problems = []
    if not 1 <= cfg.epochs <= 10_000:
        problems.append(f"epochs must be 1 to 10,000 (got {cfg.epochs})")
    if not 1 <= cfg.batch_size <= 65_536:
        problems.append(f"batch size must be 1 to 65,536 (got {cfg.batch_size})")
    if not (math.isfinite(cfg.lr) and 0 < cfg.lr <= 10):
        problems.append(f"learning rate must be above 0 and at most 10 (got {cfg.lr})")
    if not (math.isfinite(cfg.weight_decay) and cfg.weight_decay >= 0):
        problems.append(f"weight decay must be 0 or more (got {cfg.weight_decay})")
    if problems:
        raise TrainingError("Cannot train: " + "; ".join(problems) + ".")


def parameter_groups(model: nn.Module, lr: float) -> list[dict[str, Any]]:
    """Return the optimiser's parameter groups: the network's own (differential rates) or one group."""
    net = getattr(model, "net", model)
    if hasattr(net, "param_groups"):
        return [g for g in net.param_groups(lr) if g["params"]]
    return [{"params": [p for p in model.parameters() if p.requires_grad], "lr": lr, "name": "all layers"}]


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Build the optimiser named in cfg over the parameters that train, fused where torch can.

    A fused step updates each parameter in one pass, without the per-parameter temporaries of torch's default
    CPU step: ResNet-18 on the digits, one thread, an Adam step took 20 ms instead of 105 and the whole
    training step 0.78x as long, peaking 15 MB lower (benchmarks/fused_optim.py).
    """
    params = parameter_groups(model, cfg.lr)
    fused = all(p.is_floating_point() and p.device.type in FUSED_DEVICES for g in params for p in g["params"])
    extra = {"momentum": cfg.momentum} if cfg.optimizer == "sgd" else {}
    return OPTIMIZERS[cfg.optimizer](params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused or None, **extra)


def make_scheduler(
    optimizer: torch.optim.Optimizer, cfg: TrainConfig, batches_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Return the per-batch learning-rate schedule named in cfg, or None for a constant rate."""
    if cfg.schedule == "constant":
        return None
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[group["lr"] for group in optimizer.param_groups],  # keeps differential rates apart
        total_steps=cfg.epochs * batches_per_epoch,
        cycle_momentum=cfg.optimizer != "sgd" or cfg.momentum > 0,  # keep plain SGD plain
    )


def schedule_curve(cfg: TrainConfig, batches_per_epoch: int) -> list[float]:
    """Return the learning rate of every training step of cfg, without training."""
    check_config(cfg)
    if batches_per_epoch < 1:
        raise TrainingError(f"An epoch needs at least one batch (got {batches_per_epoch}).")
    total = cfg.epochs * batches_per_epoch
    with global_generator():  # even a probe's weight is a draw from torch's generator, which jobs share
        probe = nn.Linear(1, 1)
    optimizer = make_optimizer(probe, cfg)
    scheduler = make_scheduler(optimizer, cfg, batches_per_epoch)
    if scheduler is None:
        return [cfg.lr] * total
    lrs = []
    for _ in range(total):
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()  # no gradients, so nothing moves; the scheduler expects a step before its own
        scheduler.step()
    return lrs


def shuffled_batches(
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
    augment: str,
    flip: bool,
    *,
    dist: DistContext | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield one shuffled pass over (images, labels) as float batches on their device, uint8 images augmented.

    Under `dist` only this process's shard of the order is visited; `drop_last` skips a short last batch.
    """
    order = torch.randperm(len(images), generator=generator)
    order = (order if dist is None else dist.shard(order)).to(images.device)
    end = len(order) - len(order) % batch_size if drop_last and len(order) >= batch_size else len(order)
    for start in range(0, end, batch_size):
        idx = order[start : start + batch_size]
        x, y = images[idx], labels[idx]  # (B, C, H, W) images or (B, D) features, (B,)
        yield to_float(augment_batch(x, augment, generator, flip) if x.dtype == torch.uint8 else x), y


@torch.inference_mode()
def infer(
    model: nn.Module, images: torch.Tensor, batch_size: int | None = None, precision: str = "fp32"
) -> torch.Tensor:
    """Return float32 logits for uint8 images (N, C, H, W), on the model's device, in eval mode.

    `batch_size`: images per pass; by default as many as core.batching's memory budget holds for this model.
    """
    device = next(model.parameters()).device
    batch_size = batch_size or inference_batch(model, images)
    with eval_mode(model), autocast(device, precision):
        out = [model(to_float(images[i : i + batch_size].to(device))) for i in range(0, len(images), batch_size)]
    return torch.cat(out).float()  # (N, classes)


def evaluate(
    model: nn.Module, data: ImageDataset | FeatureSet, batch_size: int | None = None, precision: str = "fp32"
) -> tuple[float, float]:
    """Return (mean cross-entropy, accuracy) on a dataset."""
    logits = infer(model, data.images, batch_size, precision)
    labels = data.labels.to(logits.device)
    return F.cross_entropy(logits, labels).item(), accuracy(logits, labels)


def train_one_epoch(
    model: nn.Module,
    data: tuple[torch.Tensor, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    cfg: TrainConfig,
    state: TrainState,
    callbacks: Sequence[Callback],
    stop: threading.Event | None,
    generator: torch.Generator,
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    flip: bool = True,
    scaler: torch.amp.GradScaler | None = None,
    dist: DistContext | None = None,
) -> tuple[float, float]:
    """Run one shuffled pass over (images, labels) already on the device; return (loss, accuracy).

    Each batch is augmented with the preset cfg.augment (mirrored only when `flip`) and computed in
    cfg.precision; `scheduler`, if given, steps after every batch; `scaler` scales fp16 losses. Under
    `dist` this process trains only its shard of the epoch, and the figures returned cover all processes.
    """
    images, labels = data
    model.train()
    loss_sum = torch.zeros((), device=images.device)
    correct = torch.zeros((), device=images.device, dtype=torch.long)
    seen = 0  # images this process trained on (its shard under `dist`)
    batches = shuffled_batches(images, labels, cfg.batch_size, generator, cfg.augment, flip, dist=dist)
    for state.batch, (x, y) in enumerate(batches, start=1):
        with autocast(images.device, cfg.precision):
            logits = model(x)  # (B, classes)
            loss = F.cross_entropy(logits, y)
        _step(loss, optimizer, scaler)
        if scheduler is not None:
            scheduler.step()
        loss_sum += loss.detach() * len(y)
        correct += (logits.detach().argmax(dim=1) == y).sum()
        seen += len(y)
        state.images_seen += len(y)
        state.loss = loss.item()
        if not math.isfinite(state.loss):
            raise TrainingError(f"The loss became {state.loss} in epoch {state.epoch}: lower the learning rate.")
        fire(callbacks, "batch_end", state)
        if stop is not None and stop.is_set():
            raise StopTraining()
    if dist is not None:  # add up every process's shard: (loss sum, correct, images)
        totals = dist.sum(torch.stack([loss_sum, correct.to(loss_sum.dtype), loss_sum.new_tensor(seen)]))
        return (totals[0] / totals[2]).item(), (totals[1] / totals[2]).item()
    return loss_sum.item() / len(images), correct.item() / len(images)


def _step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
    """Backpropagate `loss` and update the weights, through the fp16 gradient scaler when there is one.

    Inside `steps_in_backward` backward has stepped every parameter already and `optimizer.step()` finds no
    gradient left to use; it is still called, as a learning-rate schedule expects.
    """
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        optimizer.step()
        return
    scaler.scale(loss).backward()
    scaler.step(optimizer)  # skipped when the scaled gradients overflowed
    scaler.update()


def _parallel(
    model: nn.Module, cfg: TrainConfig, images: int, dist: DistContext | None
) -> tuple[nn.Module, TrainConfig, int]:
    """Return the module to step, the per-step settings and this process's images per epoch."""
    if dist is None:
        return model, cfg, images
    step_cfg = replace(cfg, batch_size=dist.rank_batch(cfg.batch_size))
    return dist.wrap(model), step_cfg, dist.shard_size(images)


def fit(
    model: nn.Module,
    train: ImageDataset | FeatureSet,
    val: ImageDataset | FeatureSet,
    cfg: TrainConfig,
    callbacks: Sequence[Callback] = (),
    stop: threading.Event | None = None,
    dist: DistContext | None = None,
) -> FitResult:
    """Train `model` on `train` for cfg.epochs, validating after each epoch; stoppable every batch.

    Under `dist` (a torchrun process group) this process steps on its shard of each batch with
    DistributedDataParallel, so the same loop trains one process or many.
    """
    check_config(cfg)
    device = training_device(cfg.device, cfg.precision) if dist is None else dist.device
    model.to(device)
    optimizer = make_optimizer(model, cfg)
    gen = torch.Generator().manual_seed(cfg.seed)  # batch order and augmentation
    masks = torch.Generator().manual_seed(cfg.seed + 1)  # dropout: its own, so every model sees the same batches
    data = (train.images.to(device), train.labels.to(device))
    learner, step_cfg, shard = _parallel(model, cfg, len(train), dist)
    state = TrainState(model=model, epochs=cfg.epochs, batches=math.ceil(shard / step_cfg.batch_size))
    scheduler = make_scheduler(optimizer, cfg, state.batches)
    scaler = grad_scaler(device, cfg.precision)
    flip = not train.dark_background  # a mirrored digit is a different symbol, so never flip ink-on-dark scans
    in_backward = (  # one gradient alive at a time, where the gradients are big
        scaler is None
        and dist is None
        and can_step_in_backward(optimizer)
        and sum(p.numel() * p.element_size() for g in optimizer.param_groups for p in g["params"])
        >= IN_BACKWARD_MIN_BYTES
    )
    started = time.perf_counter()
    fire(callbacks, "fit_start", state)
    with steps_in_backward(optimizer) if in_backward else nullcontext(), dropout_from(model, masks):
        try:
            for state.epoch in range(1, cfg.epochs + 1):
                fire(callbacks, "epoch_start", state)
                t0 = time.perf_counter()
                train_loss, train_acc = train_one_epoch(
                    learner,
                    data,
                    optimizer,
                    step_cfg,
                    state,
                    callbacks,
                    stop,
                    gen,
                    scheduler=scheduler,
                    flip=flip,
                    scaler=scaler,
                    dist=dist,
                )
                train_seconds = time.perf_counter() - t0
                val_loss, val_acc = evaluate(model, val, precision=cfg.precision)
                state.history.append(
                    {
                        "epoch": state.epoch,
                        "train_loss": train_loss,
                        "train_accuracy": train_acc,
                        "val_loss": val_loss,
                        "val_accuracy": val_acc,
                        "lr": optimizer.param_groups[0]["lr"],
                        "seconds": time.perf_counter() - t0,
                        "images_per_second": len(train) / max(train_seconds, 1e-9),
                    }
                )
                fire(callbacks, "epoch_end", state)
        except StopTraining:
            state.stopped = True
    fire(callbacks, "fit_end", state)
    return FitResult(state.history, state.stopped, time.perf_counter() - started, str(device))
