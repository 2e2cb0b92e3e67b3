"""Lightbox core: datasets, models, training, runs and inference for image classification.

Pure Python and PyTorch; usable from a notebook, a script, the command line or the dashboard.

The public API is the union of each module's own `__all__` (as in `torchvision.models`), loaded on
first use (PEP 562): `import core` reads no module and imports no torch, so the dashboard draws its
first page before torch loads, and `from core import RunConfig` loads `core.config` alone.
"""

from __future__ import annotations

import ast
import importlib
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

_ALL = re.compile(r"^__all__(?::[^=\n]*)?\s*=\s*(\[.*?\])", re.MULTILINE | re.DOTALL)

# The modules whose `__all__` make up `core`'s public names. Each module's `__all__` is a literal list,
# read from its source without importing it (`tests/test_lazy_api.py` checks both agree).
_MODULES = (
    "core.adversarial",
    "core.bundle",
    "core.callbacks",
    "core.config",
    "core.data.analysis",
    "core.data.augment",
    "core.data.base",
    "core.data.images",
    "core.data.photos",
    "core.data.registry",
    "core.data.samples",
    "core.data.standard",
    "core.data.user",
    "core.devices",
    "core.errors",
    "core.evaluation",
    "core.export",
    "core.feature_maps",
    "core.home",
    "core.inference",
    "core.jobs",
    "core.metrics",
    "core.models.pretrained",
    "core.models.registry",
    "core.onnx_predictor",
    "core.prepare",
    "core.quantize_runs",
    "core.runs",
    "core.script",
    "core.train_runs",
    "core.training",
    "core.version",
    "core.warm",
)

if TYPE_CHECKING:  # type checkers and IDEs see every public name, through each module's `__all__`
    from core.adversarial import *  # noqa: F403
    from core.bundle import *  # noqa: F403
    from core.callbacks import *  # noqa: F403
    from core.config import *  # noqa: F403
    from core.data.analysis import *  # noqa: F403
    from core.data.augment import *  # noqa: F403
    from core.data.base import *  # noqa: F403
    from core.data.images import *  # noqa: F403
    from core.data.photos import *  # noqa: F403
    from core.data.registry import *  # noqa: F403
    from core.data.samples import *  # noqa: F403
    from core.data.standard import *  # noqa: F403
    from core.data.user import *  # noqa: F403
    from core.devices import *  # noqa: F403
    from core.errors import *  # noqa: F403
    from core.evaluation import *  # noqa: F403
    from core.export import *  # noqa: F403
    from core.feature_maps import *  # noqa: F403
    from core.home import *  # noqa: F403
    from core.inference import *  # noqa: F403
    from core.jobs import *  # noqa: F403
    from core.metrics import *  # noqa: F403
    from core.models.pretrained import *  # noqa: F403
    from core.models.registry import *  # noqa: F403
    from core.onnx_predictor import *  # noqa: F403
    from core.prepare import *  # noqa: F403
    from core.quantize_runs import *  # noqa: F403
    from core.runs import *  # noqa: F403
    from core.script import *  # noqa: F403
    from core.train_runs import *  # noqa: F403
    from core.training import *  # noqa: F403
    from core.version import *  # noqa: F403
    from core.warm import *  # noqa: F403


def module_all(module: str) -> list[str]:
    """Return a core module's `__all__`, read from its source without importing it."""
    path = Path(__file__).resolve().parent.joinpath(*module.split(".")[1:]).with_suffix(".py")
    found = _ALL.search(path.read_text(encoding="utf-8"))
    if found is None:
        raise ImportError(f"{module} has no literal __all__ list")
    return list(ast.literal_eval(found.group(1)))


@cache
def _exports() -> dict[str, str]:
    """Return public name -> the module that defines it."""
    return {name: module for module in _MODULES for name in module_all(module)}


def __getattr__(name: str) -> Any:
    if name == "__all__":
        return sorted(_exports())
    module = _exports().get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_exports()})
