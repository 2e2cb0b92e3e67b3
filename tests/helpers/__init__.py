"""Builders and waits shared by tests; test modules import from here, never from each other."""

from __future__ import annotations

from tests.helpers.runs import quick_config, trained_run
from tests.helpers.wait import wait_until

__all__ = ["quick_config", "trained_run", "wait_until"]
