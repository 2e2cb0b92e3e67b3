"""Teach examples kept on the server per visitor workspace: bounded, thread-safe, freed when the workspace ends.

Plain Python (no Streamlit), so one instance can be shared by every session through st.cache_resource.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

DEFAULT_CLASSES = ("Class 1", "Class 2")
MAX_OWNERS = 64  # workspaces kept at once; the least recently used goes first
MAX_PER_CLASS = 60  # examples per class (about 10 kB each from the camera)
MAX_CLASSES = 10
IDLE_SECONDS = 3 * 3600  # a workspace untouched this long is dropped


@dataclass
class Workspace:
    """One visitor's classes (name -> image files, in the order added) and when they were last used."""

    classes: dict[str, list[bytes]] = field(default_factory=lambda: {name: [] for name in DEFAULT_CLASSES})
    touched: float = field(default_factory=time.monotonic)
    taught: tuple[str, str] | None = None  # the run trained on them and its summary, kept across reloads


class ExampleStore:
    """Teach examples per owner id, with bounds on owners, classes and examples, and an idle timeout."""

    def __init__(self, max_owners: int = MAX_OWNERS, idle_seconds: float = IDLE_SECONDS) -> None:
        self._spaces: OrderedDict[str, Workspace] = OrderedDict()
        self._lock = threading.Lock()
        self.max_owners = max_owners
        self.idle_seconds = idle_seconds

    def classes(self, owner: str) -> dict[str, list[bytes]]:
        """Return the owner's classes, a dict the caller may change in place (two empty classes to start)."""
        return self._space(owner).classes

    def taught(self, owner: str) -> tuple[str, str] | None:
        """Return the owner's taught run id and its summary, or None before the first Train."""
        return self._space(owner).taught

    def set_taught(self, owner: str, run_id: str, summary: str) -> None:
        """Keep the run the owner's examples trained (a page reload shows it again)."""
        self._space(owner).taught = (run_id, summary)

    def forget_taught(self, owner: str) -> None:
        """Forget the owner's taught run (it was deleted): Teach asks for a Train again."""
        self._space(owner).taught = None

    def _space(self, owner: str) -> Workspace:
        now = time.monotonic()
        with self._lock:
            space = self._spaces.pop(owner, None) or Workspace()
            space.touched = now
            self._spaces[owner] = space  # most recently used last
            for stale in [o for o, s in self._spaces.items() if now - s.touched > self.idle_seconds]:
                del self._spaces[stale]
            while len(self._spaces) > self.max_owners:
                self._spaces.popitem(last=False)
            return space

    def forget(self, owner: str) -> None:
        """Drop an owner's examples (its workspace ended)."""
        with self._lock:
            self._spaces.pop(owner, None)

    def owners(self) -> list[str]:
        """Return the owners that have examples here, least recently used first."""
        with self._lock:
            return list(self._spaces)

    def size_bytes(self) -> int:
        """Return the bytes held in examples, all owners together."""
        with self._lock:
            return sum(len(f) for s in self._spaces.values() for files in s.classes.values() for f in files)


def add_example(classes: dict[str, list[bytes]], name: str, data: bytes) -> bool:
    """Add one example to a class; False (nothing added) when the class is unknown or full."""
    files = classes.get(name)
    if files is None or len(files) >= MAX_PER_CLASS:
        return False
    files.append(data)
    return True


def add_class(classes: dict[str, list[bytes]], name: str) -> str | None:
    """Add a class; return None, or a sentence saying why not."""
    name = name.strip()[:40]
    if not name:
        return "Type a name for the class first."
    if name in classes:
        return "There is a class called that already."
    if len(classes) >= MAX_CLASSES:
        return f"{MAX_CLASSES} classes at most: remove one first."
    classes[name] = []
    return None


def rename_class(classes: dict[str, list[bytes]], old: str, new: str) -> str | None:
    """Rename a class keeping its place and examples; return None, or a sentence saying why not."""
    new = new.strip()[:40]
    if new == old or old not in classes:
        return None
    if not new:
        return "A class needs a name."
    if new in classes:
        return "There is a class called that already."
    renamed = {(new if name == old else name): files for name, files in classes.items()}
    classes.clear()
    classes.update(renamed)  # the same dict object: the store keeps it
    return None
