"""Warm start: load what a demo needs (the pretrained model, the embedded datasets) once per process, in a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from core.data.registry import load_dataset
from core.errors import LightboxError
from core.inference import Predictor
from core.models.efficientnet_lite import lite0_weights_available

__all__ = ["Warmup", "shared_pretrained", "warm_up"]

_build_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()
_predictors: dict[str, Predictor] = {}


def shared_pretrained(name: str = "imagenet") -> Predictor:
    """Return this process's one copy of a built-in pretrained model, built on first use."""
    with _locks_lock:
        lock = _build_locks.setdefault(name, threading.Lock())
    with lock:  # one build, even when the warm-up thread and a page ask at the same moment
        if name not in _predictors:
            _predictors[name] = Predictor.pretrained(name)
        return _predictors[name]


def demo_items() -> dict[str, Callable[[], object]]:
    """Return what a demo needs loaded, by the words the sidebar uses for it."""
    items: dict[str, Callable[[], object]] = {"handwritten digits": lambda: load_dataset("digits")}  # lru-cached
    if lite0_weights_available():
        items["the pretrained model"] = shared_pretrained
    items["coloured shapes"] = lambda: load_dataset("shapes")
    return items


class Warmup:
    """Load items one after another in a daemon thread that never touches the UI; say which are still loading."""

    def __init__(self, items: Mapping[str, Callable[[], object]]) -> None:
        self._items = dict(items)
        self._pending = list(self._items)
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lightbox-warmup", daemon=True)

    def start(self) -> Warmup:
        """Start loading in the background; return self."""
        self.thread.start()
        return self

    def pending(self) -> list[str]:
        """Return the items not loaded yet, in loading order."""
        with self._lock:
            return list(self._pending)

    def failed(self) -> dict[str, str]:
        """Return the items that could not be loaded, with why (the page that needs one says so again)."""
        with self._lock:
            return dict(self._failed)

    def _run(self) -> None:
        for label, load in self._items.items():
            try:
                load()
            except LightboxError as exc:
                self._note_failure(label, str(exc))
            except Exception as exc:  # a warm-up must never kill the server; the page will retry and report
                self._note_failure(label, f"{type(exc).__name__}: {exc}")
            finally:
                with self._lock:
                    self._pending.remove(label)
        self.done.set()

    def _note_failure(self, label: str, reason: str) -> None:
        with self._lock:
            self._failed[label] = reason


def warm_up(items: Mapping[str, Callable[[], object]] | None = None) -> Warmup:
    """Start loading `items` (default: demo_items()) in the background; return the running Warmup."""
    return Warmup(demo_items() if items is None else items).start()
