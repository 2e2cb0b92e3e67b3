"""Shared fixtures: every test gets its own LIGHTBOX_HOME, so no test sees another's runs."""

from __future__ import annotations

import functools
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path

# One torch thread per test process, and per process a test starts: `pytest` runs three worker processes
# (pyproject's addopts), and torch's threads spin-wait when another busy process holds a core (a 10-epoch
# digits CNN measured 16 s with one thread against 286 s with two on a busy 2-core machine).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
import torch
from streamlit.testing.v1 import local_script_runner

import core.memory
from core import Predictor, RunInfo, RunStore
from core.memory import reuse_freed_memory
from tests.helpers.runs import RunLibrary

ROOT = Path(__file__).resolve().parent.parent
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

# A test process is a batch process, not a server: freed pages stay in its heap for the next batch (core/memory.py).
# The page tests run dashboard/app.py in this process, and its lean_server() would give it the server's allocator
# (each block of 4 MB or more mapped apart) for every test after: `python -m core quantize imagenet` in-process
# took 18.2-19.4 s with the server's allocator, 15.2-15.9 s with glibc's and 11.2-12.3 s with freed pages kept.
reuse_freed_memory()
core.memory.limit_malloc_arenas = core.memory.map_big_blocks = lambda *_: False  # as dashboard.resources imports them


# Browser tests run in groups, each group in one worker and the groups side by side: the live camera's tests
# and the other pages' tests each on that worker's shared server (one server, one Chromium per worker), and
# the tests that start servers of their own. Three workers on two cores: browser tests partly wait (on a
# server, a video, a paced run), and the other workers' tests fill that time (pyproject.toml says why not four).
CAMERA_MODULES = ("test_live_camera", "test_webcam")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups off the items
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Count browser tests as slow too (`-m "not slow"` leaves them out), and put them in their worker groups."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)
            if "server" not in getattr(item, "fixturenames", ()):
                group = "browser-own-server"
            elif item.module.__name__.rsplit(".", 1)[-1] in CAMERA_MODULES:
                group = "browser-camera"
            else:
                group = "browser-pages"
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_configure(config: pytest.Config) -> None:
    """Two tweaks to AppTest: scan for Streamlit components once per test process, and wait for runs cheaply.

    The scan: each new AppTest builds its own component manager, which reads the metadata of every installed
    package (168 here) to find component manifests: 5.4% of the CPU samples of the suite's non-browser tests
    (py-spy); once per process, four page-test modules ran in 22 s instead of 27 (2 rounds side by side). The
    packages do not change while the tests run, and a served app scans once per server anyway.
    """
    from streamlit.components.v2 import manifest_scanner

    manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)
    local_script_runner.require_widgets_deltas = _wait_for_the_run


def _wait_for_the_run(runner: local_script_runner.LocalScriptRunner, timeout: float = 3) -> None:
    """AppTest's wait for a page run, by joining its script thread (which ends with the run) instead of polling.

    Streamlit's own wait wakes every millisecond and scans the run's whole list of events for the last one: 4.4
    CPU-s of the suite's non-browser tests in py-spy's samples, and a thread taking the GIL from the page run
    it waits for.
    """
    thread = runner._script_thread
    thread.join(timeout)
    if thread.is_alive():  # as Streamlit does: stop the run, then say so
        runner.request_stop()
        runner.join()
        raise RuntimeError(f"AppTest script run timed out after {timeout}(s)")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collecting loaded (torch, Streamlit, every test module) out of later garbage collections.

    The dashboard collects fully after every whole-page run (dashboard/app.py), and each AppTest page run is one:
    some 480 full collections in a suite (counted with gc.callbacks). Each walked the 200,000 objects collecting
    leaves in a worker, 36 ms apiece (17 CPU-s in all); frozen, only what the tests made since.
    """
    gc.collect()
    gc.freeze()
    _frozen_modules[0] = len(sys.modules)


_frozen_modules = [0]  # how many modules were loaded when the heap was last frozen


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After a test that loaded modules, freeze them too (collecting first, so no garbage is frozen).

    Tests load some modules on first use (torch.export and torch._dynamo, ONNX, scikit-learn): 150,000-300,000
    objects that each full collection walked again until the next freeze, 51 ms per page run of the tests
    (436 of them). Garbage collection in the suite's non-browser tests took 31.7 CPU-s before, 16.3 after
    (gc.callbacks). A server loads those modules early and freezes them with its models
    (dashboard.resources.settle_heap): 1-4 ms per page run there.
    """
    yield
    if len(sys.modules) > _frozen_modules[0]:
        gc.collect()
        gc.freeze()
        _frozen_modules[0] = len(sys.modules)


@pytest.fixture(autouse=True)
def lightbox_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("LIGHTBOX_HOME", str(home))
    monkeypatch.delenv("LIGHTBOX_SHARING", raising=False)  # shared, as a local `streamlit run`, unless a test says
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # weights torchvision downloaded here stay unseen
    return home


@pytest.fixture
def store(lightbox_home: Path) -> RunStore:
    return RunStore(lightbox_home)


@pytest.fixture(scope="session")
def run_library(tmp_path_factory: pytest.TempPathFactory) -> RunLibrary:
    """Trained homes shared by the whole session, all its workers: each kind is trained once, then only copied."""
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker's temp folder lies in the session's, which all share
        root = tmp_path_factory.getbasetemp().parent / "run-library"
        root.mkdir(exist_ok=True)
        return RunLibrary(root)
    return RunLibrary(tmp_path_factory.mktemp("run-library"))


@pytest.fixture
def copy_runs(run_library: RunLibrary, lightbox_home: Path) -> Callable[[str], list[RunInfo]]:
    """Copy a kind of trained home (see RUN_KINDS, and TOUR_CNN) into this test's home; return its runs in order."""
    return lambda kind: run_library.copy_into(kind, lightbox_home)


@pytest.fixture
def trained_cnn(copy_runs: Callable[[str], list[RunInfo]]) -> RunInfo:
    """A CNN trained for real on digits (6 epochs), copied into this test's home."""
    (run,) = copy_runs("cnn")
    return run


@pytest.fixture(scope="session")
def digits_cnn(run_library: RunLibrary) -> Predictor:
    """The same CNN loaded once for the session (tests must leave its model as they found it)."""
    (run,) = run_library.runs("cnn")
    return Predictor.from_run(run_library.template("cnn"), run.id)
