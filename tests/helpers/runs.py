"""Configs and trained runs for tests: each kind of trained home is built once per session and copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

from filelock import FileLock  # a dependency of torch

from core import DataConfig, ModelConfig, RunConfig, RunInfo, RunStore, TrainConfig, train_run

# What each kind of trained home holds, in training order: (model, epochs) on digits.
RUN_KINDS: dict[str, tuple[tuple[str, int], ...]] = {
    "cnn": (("cnn", 6),),  # reads photos of digits well enough to name them
    "simple": (("simple", 2),),
    "simple+cnn": (("simple", 2), ("cnn", 3)),
}
# The guided tour's own digits CNN (dashboard.tour_parts.tour_config), which its step 7 trains when a home has none.
TOUR_CNN = "tour-cnn"


def quick_config(model: str = "cnn", epochs: int = 2, dataset: str = "digits", **train: object) -> RunConfig:
    """A config that trains for real in about a second."""
    return RunConfig(
        data=DataConfig(name=dataset),
        model=ModelConfig(name=model),
        train=TrainConfig(**{"epochs": epochs, "batch_size": 64, "lr": 3e-3, **train}),  # type: ignore[arg-type]
    )


def trained_run(store: RunStore, model: str = "cnn", epochs: int = 2) -> RunInfo:
    """Train a real model on digits and return its finished run."""
    return train_run(quick_config(model, epochs), store)


def _train_kind(store: RunStore, kind: str) -> None:
    if kind == TOUR_CNN:
        from dashboard.tour_parts import tour_config  # streamlit: imported for this kind only

        train_run(tour_config("cnn"), store)
        return
    for model, epochs in RUN_KINDS[kind]:
        trained_run(store, model, epochs)


class RunLibrary:
    """Homes of really trained runs, each kind trained on first use and copied into any home that asks.

    Worker processes of one session may share `root`: a kind is then trained by the first that asks.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def template(self, kind: str) -> RunStore:
        """Return the store of this kind's home, training its runs the first time (once for all workers)."""
        home = self.root / kind
        if not home.is_dir():
            with FileLock(self.root / f"{kind}.lock"):  # another worker may be building it: wait for that one
                if not home.is_dir():
                    building = self.root / f"{kind}.building"  # renamed when complete: a failed build is not reused
                    shutil.rmtree(building, ignore_errors=True)
                    _train_kind(RunStore(building), kind)
                    building.rename(home)
        return RunStore(home)

    def runs(self, kind: str) -> list[RunInfo]:
        """Return this kind's template runs in training order (read them; never change the template)."""
        return self.template(kind).list_runs()[::-1]

    def copy_into(self, kind: str, home: Path) -> list[RunInfo]:
        """Copy this kind's home into `home`, which must hold no runs yet; return the copies in training order."""
        assert not (home.is_dir() and RunStore(home).list_runs()), f"{home} already holds runs"
        template = self.template(kind)
        shutil.copytree(template.home, home, dirs_exist_ok=True)
        return RunStore(home).list_runs()[::-1]
