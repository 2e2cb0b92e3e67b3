"""One polling loop for every test that waits on a thread, a process or a server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 60.0, interval: float = 0.1, message: str = "") -> T:
    """Call `condition` every `interval` s until it returns something truthy; return that, or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()  # may itself assert, e.g. that a child process is still alive
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(message or f"timed out after {timeout:g} s waiting for {condition}")
        time.sleep(interval)
