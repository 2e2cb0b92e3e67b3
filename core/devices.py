"""Device selection: the fastest available unless the user names one."""

from __future__ import annotations

import torch

from core.errors import TrainingError, UnknownNameError

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


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
