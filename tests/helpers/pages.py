"""Pages rendered headlessly through the real entrypoint with Streamlit's AppTest."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryFile
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def ui_files_calling(call: str) -> list[str]:
    """Return the dashboard's and pages' files (relative to the repository) whose source contains `call`."""
    root = Path(__file__).resolve().parents[2]
    return [
        str(path.relative_to(root))
        for folder in ("dashboard", "pages")
        for path in sorted((root / folder).rglob("*.py"))
        if call in path.read_text()
    ]


def open_page(name: str, **query: str) -> AppTest:
    """Run the app (with these query parameters, as a link would carry them), switch to a page, check it rendered."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.run()
    if name != "home":
        at.switch_page(f"../pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    """Return the one button with this label."""
    (found,) = [b for b in at.button if b.label == label]
    return found


def record_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], MemoryFile]]:
    """Return, by file name, a click on each download button whose file is built when clicked.

    Streamlit keeps such a button's callable until the browser asks for the file; a click here runs it
    the way the server does and returns the file the browser would get.
    """
    clicks: dict[str, Callable[[], MemoryFile]] = {}
    add_deferred = MediaFileManager.add_deferred

    def recording(self: MediaFileManager, data: Callable, mimetype: str | None, *args: Any, **kwargs: Any) -> str:
        file_id = add_deferred(self, data, mimetype, *args, **kwargs)
        clicks[kwargs.get("file_name") or ""] = functools.partial(_click, self, file_id)
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", recording)
    return clicks


def _click(manager: MediaFileManager, file_id: str) -> MemoryFile:
    url = manager.execute_deferred(file_id)  # what the server runs when the browser asks for the file
    return manager._storage.get_file(url.rsplit("/", 1)[-1])  # the AppTest runtime keeps files in memory


class LoadingWarmup:
    """A warm-up standing in for dashboard.warm's, saying what is still loading as a test sets it.

    Started, and never done, so no page run settles the heap after it.
    """

    def __init__(self, *pending: str) -> None:
        self.left, self.started, self.done = list(pending), True, threading.Event()

    def pending(self) -> list[str]:
        return list(self.left)
