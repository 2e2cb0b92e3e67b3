"""One polling loop for every test that waits on a thread, a process, a server or a page."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _poll(condition: Callable[[], T], timeout: float, interval: float) -> T:
    """Call `condition` every `interval` s until it returns something truthy or `timeout` s pass; return its last."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()  # may itself assert, e.g. that a child process is still alive
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def wait_until(condition: Callable[[], T], timeout: float = 60.0, interval: float = 0.1, message: str = "") -> T:
    """Call `condition` every `interval` s until it returns something truthy; return that, or fail after `timeout` s."""
    result = _poll(condition, timeout, interval)
    if not result:
        raise AssertionError(message or f"timed out after {timeout:g} s waiting for {condition}")
    return result


def becomes(condition: Callable[[], object], timeout: float, interval: float = 0.1) -> bool:
    """Say whether `condition` returns something truthy within `timeout` s (asked every `interval` s)."""
    return bool(_poll(condition, timeout, interval))
