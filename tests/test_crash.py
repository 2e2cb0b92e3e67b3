"""A training process killed mid-run: the run is marked interrupted, its history and last checkpoint survive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from core import JobManager, Predictor, RunStore, load_dataset
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_killed_training_is_interrupted_and_keeps_its_epochs(lightbox_home: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core",
            "train",
            "--dataset",
            "digits",
            "--model",
            "cnn",
            "--epochs",
            "500",
            "--batch-size",
            "16",
        ],
        cwd=ROOT,
        env={**os.environ, "LIGHTBOX_HOME": str(lightbox_home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = RunStore(lightbox_home)

    def two_epochs_logged() -> bool:
        assert proc.poll() is None, "training ended early"
        return bool(store.list_runs()) and len(store.history(store.list_runs()[0].id)) >= 2

    wait_until(two_epochs_logged, 120, message="training did not get going")
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)

    (run,) = store.list_runs()
    assert run.status == "running"  # nobody could say otherwise: the process is gone
    assert JobManager(store).interrupted == [run.id]  # what a restarted dashboard does first
    run = store.get_run(run.id)
    assert run.status == "interrupted" and "ended early" in (run.error or "")
    epochs = [row["epoch"] for row in store.history(run.id)]
    assert epochs[:2] == [1, 2] and epochs == sorted(epochs)

    _, val = load_dataset("digits").split(0.2, seed=0)
    predictor = Predictor.from_run(store, run.id)  # the last checkpoint loads and works
    image: Image.Image = val.to_pil(0)
    assert predictor.predict(image, top_k=1)[0].label in val.classes
