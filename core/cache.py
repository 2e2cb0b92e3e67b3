"""Bounded caches whose loads run once per key: a cold crowd shares one load instead of repeating it.

Many visitors (and the warm-up thread) may ask for the same model or dataset in the same second. A plain
dict or `functools.lru_cache` lets each of them load its own copy, so a class opening the link at once
multiplies the work and the memory. `LoadCache` keeps one lock per key ("single flight"): the first asker
loads, the others wait for that load and get the same object. Entries are evicted least recently used
beyond a count and, optionally, a size in bytes. Pure Python: importing it loads no torch.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, ParamSpec, TypeVar

__all__: list[str] = []

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
P = ParamSpec("P")


class LoadCache(Generic[K, V]):
    """A thread-safe LRU cache: `get(key, load)` loads once per key however many threads ask at once."""

    def __init__(
        self, max_entries: int, max_bytes: int | None = None, size_of: Callable[[V], int] | None = None
    ) -> None:
        self.max_entries = max(1, max_entries)
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._values: OrderedDict[K, V] = OrderedDict()
        self._sizes: dict[K, int] = {}
        self._flights: dict[K, threading.Lock] = {}  # one lock per key being loaded
        self._lock = threading.Lock()  # guards the three dicts above; never held during a load

    def get(self, key: K, load: Callable[[], V]) -> V:
        """Return the cached value for `key`, loading it with `load()` if no one has (or is doing so now)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:  # a second asker waits here for the first one's load
            with self._lock:
                if key in self._values:
                    self._values.move_to_end(key)
                    return self._values[key]
            try:
                value = load()
            finally:
                with self._lock:
                    self._flights.pop(key, None)  # a failed load is retried by the next asker
            self._put(key, value)
            return value

    def _put(self, key: K, value: V) -> None:
        size = self._size_of(value) if self._size_of else 0
        with self._lock:
            self._values[key] = value
            self._sizes[key] = size
            while len(self._values) > 1 and (
                len(self._values) > self.max_entries
                or (self.max_bytes is not None and sum(self._sizes.values()) > self.max_bytes)
            ):
                old, _ = self._values.popitem(last=False)  # the least recently used
                self._sizes.pop(old, None)

    def peek(self, key: K) -> V | None:
        """Return the value for `key` if it is loaded (without loading it or changing the order), else None."""
        with self._lock:
            return self._values.get(key)

    def loading(self, key: K) -> bool:
        """Say whether some thread is loading `key` right now."""
        with self._lock:
            return key in self._flights

    def keys(self) -> list[K]:
        """Return the cached keys, least recently used first."""
        with self._lock:
            return list(self._values)

    def discard(self, key: K) -> None:
        """Forget `key`'s value (the next `get` loads it again)."""
        with self._lock:
            self._values.pop(key, None)
            self._sizes.pop(key, None)

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()
            self._sizes.clear()


def single_flight(max_entries: int, **options: Any) -> Callable[[Callable[P, V]], Callable[P, V]]:
    """Decorate a function like `functools.lru_cache`, but concurrent calls with the same arguments share one call."""

    def wrap(func: Callable[P, V]) -> Callable[P, V]:
        cache: LoadCache[Hashable, V] = LoadCache(max_entries, **options)

        @functools.wraps(func)
        def cached(*args: P.args, **kwargs: P.kwargs) -> V:
            key = (args, tuple(sorted(kwargs.items())))
            return cache.get(key, lambda: func(*args, **kwargs))

        cached.cache = cache  # type: ignore[attr-defined]
        cached.cache_clear = cache.clear  # type: ignore[attr-defined]
        return cached

    return wrap
