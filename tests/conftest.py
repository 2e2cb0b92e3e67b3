"""Shared fixtures: every test gets its own LIGHTBOX_HOME, so no test sees another's runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import Predictor, RunStore
from tests.helpers import trained_run

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def lightbox_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("LIGHTBOX_HOME", str(home))
    monkeypatch.delenv("LIGHTBOX_SHARING", raising=False)  # shared, as a local `streamlit run`, unless a test says
    return home


@pytest.fixture
def store(lightbox_home: Path) -> RunStore:
    return RunStore(lightbox_home)


@pytest.fixture(scope="module")
def digits_cnn(tmp_path_factory: pytest.TempPathFactory) -> Predictor:
    """A CNN trained for real on digits (6 epochs), shared by a module's tests."""
    store = RunStore(tmp_path_factory.mktemp("home"))
    return Predictor.from_run(store, trained_run(store, "cnn", epochs=6).id)
