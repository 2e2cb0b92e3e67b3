"""torch.optim's optimizers for eager PyTorch, without importing the compiler on every process's first step.

torch.optim wraps `step`, `zero_grad`, `add_param_group`, `state_dict` and `load_state_dict` so that
torch.compile does not trace into them, and each wrapper imports `torch._dynamo` when first called. In eager
PyTorch the wrappers do nothing else, but that import costs 151 MB of resident memory (79 MB anonymous) and
about a second, once per process: a sixth of a 1 GB host for a server that trains anything. These classes
are torch's own optimizers with those methods unwrapped (`inspect.unwrap`), so the maths is torch's, step for
step; `step` keeps the one thing its wrapper did in eager mode, turning autograd off. Where a torch release
no longer wraps a method, the class keeps torch's. A model that is compiled still can be: nothing here
touches torch.compile, it only stops the optimizers from asking for it.
"""

from __future__ import annotations

import inspect

import torch

__all__: list[str] = []  # used through core.training.OPTIMIZERS

_GUARDED = ("zero_grad", "add_param_group", "state_dict", "load_state_dict")


def eager(cls: type[torch.optim.Optimizer]) -> type[torch.optim.Optimizer]:
    """Return a subclass of the optimizer `cls` whose methods run without importing torch._dynamo."""
    body: dict[str, object] = {"__doc__": cls.__doc__, "__module__": cls.__module__, "__qualname__": cls.__qualname__}
    for name in _GUARDED:
        method = getattr(torch.optim.Optimizer, name)
        plain = inspect.unwrap(method)
        if plain is not method:
            body[name] = plain
    step = inspect.unwrap(cls.step)
    if step is not cls.step:
        body["step"] = torch.no_grad()(step)  # what the wrapper did in eager mode (differentiable=False)
    return type(cls.__name__, (cls,), body)
