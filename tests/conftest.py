"""Shared fixtures: every test gets its own LIGHTBOX_HOME, so no test sees another's runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core import Predictor, RunInfo, RunStore
from tests.helpers.runs import RunLibrary

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Count browser tests as slow too, so `-m "not slow"` leaves them out of the quick loop."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


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
    """Trained homes shared by the whole session: each kind is trained once, then only copied."""
    return RunLibrary(tmp_path_factory.mktemp("run-library"))


@pytest.fixture
def copy_runs(run_library: RunLibrary, lightbox_home: Path) -> Callable[[str], list[RunInfo]]:
    """Copy a kind of trained home (see RUN_KINDS) into this test's home; return its runs in training order."""
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
