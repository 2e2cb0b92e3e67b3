"""Entry point for `python -m core`."""

from __future__ import annotations

import sys

from core.cli import main
from core.memory import reuse_freed_memory

if __name__ == "__main__":
    reuse_freed_memory()  # a command is a batch job: freed pages are kept for its next batch (core/memory.py)
    sys.exit(main())
