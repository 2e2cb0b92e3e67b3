"""A dependency-free text progress bar for the command line, and a fit() callback that drives it."""

from __future__ import annotations

import re
import sys
import time
from typing import TextIO

from core.callbacks import Callback, TrainState

__all__: list[str] = []  # nothing here is part of core's public API


_LINE = re.compile(r"\[[#-]+\]\s+(?P<percent>\d+)%\s+[\d.]+s ?(?P<note>.*)$")


def read_progress_line(line: str) -> tuple[float, str] | None:
    """Return (share done, note) from a line a ProgressBar wrote to a log or pipe; None for any other line."""
    found = _LINE.search(line)
    return None if found is None else (int(found["percent"]) / 100, found["note"].strip())


class ProgressBar:
    """Redraw one line in a terminal; print a line per update elsewhere (logs, CI) at most every 2 s."""

    def __init__(self, total: int, label: str = "", stream: TextIO | None = None, width: int = 28) -> None:
        self.total, self.label, self.width = max(total, 1), label, width
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self.start = time.perf_counter()

    def update(self, done: int, note: str = "", force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last < (0.1 if self.tty else 2.0):
            return
        self._last = now
        frac = min(done / self.total, 1.0)
        bar = "#" * int(frac * self.width) + "-" * (self.width - int(frac * self.width))
        line = f"{self.label} [{bar}] {frac:4.0%} {now - self.start:5.1f}s {note}"
        self.stream.write(("\r" + line.ljust(100)) if self.tty else line + "\n")
        self.stream.flush()

    def close(self, note: str = "") -> None:
        self.update(self.total, note, force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


class FitProgress(Callback):
    """Show fit() progress batch by batch, with the latest losses and accuracy."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.bar: ProgressBar | None = None
        self.note = ""

    def on_fit_start(self, state: TrainState) -> None:
        self.bar = ProgressBar(state.epochs * state.batches, "train", self.stream)

    def on_batch_end(self, state: TrainState) -> None:
        if self.bar is not None:
            done = (state.epoch - 1) * state.batches + state.batch
            self.bar.update(done, f"epoch {state.epoch}/{state.epochs} loss {state.loss:.3f} {self.note}")

    def on_epoch_end(self, state: TrainState) -> None:
        row = state.history.last or {}
        self.note = f"val_acc {row.get('val_accuracy', float('nan')):.3f}"
        if self.bar is not None:
            self.bar.update((state.epoch) * state.batches, f"epoch {state.epoch}/{state.epochs} {self.note}", True)

    def on_fit_end(self, state: TrainState) -> None:
        if self.bar is not None:
            self.bar.close("stopped" if state.stopped else "done")
