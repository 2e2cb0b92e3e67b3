"""Device selection: the fastest available unless the user names one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import torch

from core.errors import TrainingError, UnknownNameError

__all__ = ["available_devices", "cap_threads", "supported_precisions"]

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")  # full precision, then mixed with bfloat16 or float16
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def available_devices() -> list[str]:
    """Return the device names usable in this process, best first."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return [*found, "cpu"]


def select_device(name: str = "auto") -> torch.device:
    """Return the named device, or the best available one for "auto"."""
    base = name.split(":")[0]
    if base not in DEVICES:
        raise UnknownNameError("device", name, DEVICES)
    if base == "auto":
        return torch.device(available_devices()[0])
    if base not in available_devices():
        raise TrainingError(f"This machine has no '{base}' device. Available: {', '.join(available_devices())}.")
    return torch.device(name)


def cap_threads(limit: int | None = None) -> int:
    """Limit torch's intra-op threads for the whole process (default: $LIGHTBOX_THREADS, or all cores but one).

    torch.set_num_threads is process-global, so a server calls this once at start: training then leaves
    a core for the web server and the other sessions' scripts. Return the number of threads now used.
    """
    if limit is None:
        env = os.environ.get("LIGHTBOX_THREADS", "").strip()
        limit = int(env) if env.isdigit() else (os.cpu_count() or 1) - 1
    limit = max(1, limit)
    if torch.get_num_threads() != limit:
        torch.set_num_threads(limit)
    return torch.get_num_threads()


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with `count` intra-op threads in this thread (torch's count is per thread), then restore it."""
    before = torch.get_num_threads()
    if count != before:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def supported_precisions(device: str | torch.device = "auto") -> list[str]:
    """Return the precisions a device can train in: fp32 always, bf16 and fp16 where the hardware has them."""
    dev = select_device(device) if isinstance(device, str) else device
    if dev.type == "cuda":
        native = torch.cuda.is_bf16_supported(including_emulation=False)  # emulated bf16 is slower than fp32
        return ["fp32", *(["bf16"] if native else []), "fp16"]
    if dev.type == "mps":
        return ["fp32", "fp16"]
    return ["fp32", "bf16"]


def training_device(device: str, precision: str = "fp32") -> torch.device:
    """Return the device to train on, after checking it can compute in `precision`."""
    if precision not in PRECISIONS:
        raise UnknownNameError("precision", precision, PRECISIONS)
    dev = select_device(device)
    supported = supported_precisions(dev)
    if precision not in supported:
        where = {"cpu": "the CPU", "cuda": "this GPU", "mps": "this Mac's GPU"}.get(dev.type, dev.type)
        raise TrainingError(f"Precision {precision} does not work on {where}. Choose one of: {', '.join(supported)}.")
    return dev


def autocast(device: torch.device, precision: str) -> AbstractContextManager[object]:
    """Return a context that runs the model in mixed `precision` on `device`; fp32 gets a no-op context."""
    if precision == "fp32":
        return nullcontext()
    return torch.autocast(device.type, dtype=_DTYPES[precision])


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler | None:
    """Return a gradient scaler for fp16 on CUDA (small fp16 gradients would round to zero), else None."""
    if precision == "fp16" and device.type == "cuda":
        return torch.amp.GradScaler("cuda")
    return None
