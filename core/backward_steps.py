"""Optimizer steps inside backward: each parameter moves as soon as its gradient is complete, and drops it.

Stepping after backward holds every gradient at once: for ResNet-18 (11.2 M parameters) 45 MB on top of the
weights (45 MB) and Adam's two moments (90 MB). Stepped from a post-accumulate-grad hook (torch's "optimizer
step in backward" recipe), a parameter's gradient is freed while backward goes on, so about one layer's
gradient is alive at a time. Each step is torch's own fused step (`torch.optim.adam.adam`, `sgd`) with the
parameter's group settings, read at that moment, and the optimizer's own state, so a learning-rate schedule,
differential rates and the optimizer's state dict see one ordinary optimizer, and the weights come out bit for
bit as when stepping after backward (tests/test_eager_optim.py). ResNet-18 on the digits with Adam, one thread,
fresh processes alternating (benchmarks/fused_optim.py, 4 rounds): peak RSS over `import torch` +211 instead
of +236 MB, a training step 1.05x as long (246.6 vs 233.8 ms); two earlier runs of the same comparison: 1.06x
and 1.07x, -19 and -20 MB. In the three-visitor rehearsal (`benchmarks/cloud_rehearsal.py --goal`) the server's
peak fell with it; see the README's deployment section.

`core.training.fit` steps inside backward where the gradients come to 16 MB or more (`IN_BACKWARD_MIN_BYTES`):
below that a hook per parameter only costs time (the default digits CNN trained 1.075x as long with it).

Not for an fp16 gradient scaler (it unscales and checks every gradient before any step) nor under
DistributedDataParallel (gradients are averaged across processes only after the hooks have run).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import torch
from torch.optim.adam import adam
from torch.optim.sgd import sgd

__all__: list[str] = []  # used by core.training.fit


def can_step_in_backward(optimizer: torch.optim.Optimizer) -> bool:
    """Say whether `steps_in_backward` can step this optimizer: torch's SGD, Adam or AdamW, fused, on the CPU."""
    plain = ("maximize", "amsgrad", "nesterov", "capturable", "differentiable")  # options these steps leave out
    groups = optimizer.param_groups
    return (
        isinstance(optimizer, torch.optim.SGD | torch.optim.Adam)
        and all(group["fused"] and not any(group.get(option) for option in plain) for group in groups)
        and all(param.device.type == "cpu" for group in groups for param in group["params"])
    )


@contextmanager
def steps_in_backward(optimizer: torch.optim.Optimizer) -> Iterator[None]:
    """Within this block, `loss.backward()` also steps `optimizer`, a parameter at a time, and frees the gradients."""
    if not can_step_in_backward(optimizer):
        raise ValueError("Steps inside backward need torch's SGD, Adam or AdamW, fused, on the CPU.")
    step = _adam_step if isinstance(optimizer, torch.optim.Adam) else _sgd_step
    handles = [
        param.register_post_accumulate_grad_hook(partial(step, optimizer.state, group))
        for group in optimizer.param_groups
        for param in group["params"]
        if param.requires_grad
    ]
    try:
        yield
    finally:
        for handle in handles:  # else each parameter keeps the optimizer's state and group in a cycle with it
            handle.remove()


@torch.no_grad()
def _adam_step(states: dict[torch.Tensor, Any], group: dict[str, Any], param: torch.Tensor) -> None:
    """What torch.optim.Adam.step does for one parameter (AdamW is an Adam with decoupled weight decay)."""
    state = states[param]
    if not state:  # as Adam._init_group starts a fused step's state
        state["step"] = torch.zeros((), dtype=torch.float32, device=param.device)
        state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
    beta1, beta2 = group["betas"]  # read at each step: a one-cycle schedule moves them, and the rate
    adam(
        [param],
        [param.grad],
        [state["exp_avg"]],
        [state["exp_avg_sq"]],
        [],
        [state["step"]],
        fused=True,
        amsgrad=False,
        beta1=beta1,
        beta2=beta2,
        lr=group["lr"],
        weight_decay=group["weight_decay"],
        eps=group["eps"],
        maximize=False,
        decoupled_weight_decay=group["decoupled_weight_decay"],
    )
    param.grad = None


@torch.no_grad()
def _sgd_step(states: dict[torch.Tensor, Any], group: dict[str, Any], param: torch.Tensor) -> None:
    """What torch.optim.SGD.step does for one parameter, its momentum buffer made on the first step."""
    buffers = [states[param].get("momentum_buffer")] if group["momentum"] != 0 else []
    sgd(
        [param],
        [param.grad],
        buffers,
        fused=True,
        weight_decay=group["weight_decay"],
        momentum=group["momentum"],
        lr=group["lr"],
        dampening=group["dampening"],
        nesterov=False,
        maximize=False,
    )
    if buffers:
        states[param]["momentum_buffer"] = buffers[0]
    param.grad = None
