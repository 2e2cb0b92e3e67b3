"""Training events, the callback base, the per-epoch history, and the stop signal."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from torch import nn

__all__ = ["Callback", "Pace", "TrainState"]

EVENTS: tuple[str, ...] = ("fit_start", "epoch_start", "batch_end", "epoch_end", "fit_end")
HISTORY_COLUMNS: tuple[str, ...] = (
    "epoch",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "lr",
    "seconds",
    "images_per_second",
)


class StopTraining(Exception):
    """Raised by a callback (or the stop signal) to end fit() cleanly after the current batch."""


class History:
    """One row per finished epoch, with the columns in HISTORY_COLUMNS."""

    def __init__(self, rows: list[dict[str, float]] | None = None) -> None:
        self.rows: list[dict[str, float]] = list(rows or [])

    def __len__(self) -> int:
        return len(self.rows)

    def append(self, row: dict[str, float]) -> None:
        self.rows.append(dict(row))

    def column(self, name: str) -> list[float]:
        return [r[name] for r in self.rows if name in r]

    @property
    def last(self) -> dict[str, float] | None:
        return self.rows[-1] if self.rows else None

    def best(self, metric: str = "val_accuracy", maximize: bool = True) -> dict[str, float] | None:
        """Return the row with the best value of `metric`."""
        rows = [r for r in self.rows if metric in r]
        if not rows:
            return None
        return (max if maximize else min)(rows, key=lambda r: r[metric])


@dataclass
class TrainState:
    """What callbacks see: where training is and what it has produced so far."""

    model: nn.Module
    epochs: int
    batches: int  # per epoch
    history: History = field(default_factory=History)
    epoch: int = 0  # 1-based once training starts
    batch: int = 0  # 1-based within the epoch
    loss: float = float("nan")  # last batch loss
    images_seen: int = 0
    stopped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Callback:
    """Base class: override the hooks you need; each is a no-op here."""

    def on_fit_start(self, state: TrainState) -> None:
        """Called once before the first epoch."""

    def on_epoch_start(self, state: TrainState) -> None:
        """Called before each epoch."""

    def on_batch_end(self, state: TrainState) -> None:
        """Called after each optimiser step."""

    def on_epoch_end(self, state: TrainState) -> None:
        """Called after validation; state.history.last is the new row."""

    def on_fit_end(self, state: TrainState) -> None:
        """Called once at the end, also when training stopped early."""


class Pace(Callback):
    """Make every epoch last at least `seconds`, so an audience can watch a fast fit unfold (the tour)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._started = 0.0

    def on_epoch_start(self, state: TrainState) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, state: TrainState) -> None:
        time.sleep(max(0.0, self.seconds - (time.perf_counter() - self._started)))


def fire(callbacks: list[Callback] | tuple[Callback, ...], event: str, state: TrainState) -> None:
    """Call hook `on_<event>` of every callback, in order."""
    for cb in callbacks:
        getattr(cb, f"on_{event}")(state)
