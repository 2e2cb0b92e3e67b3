"""The training script of a run: standalone (no Lightbox on the path), and it lands near the run's accuracy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core import DataConfig, ModelConfig, RunConfig, RunStore, TrainConfig, train_run
from core.cli import main


def _run_script(path: Path, tmp_path: Path) -> float:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}  # no PYTHONPATH: Lightbox is not importable
    proc = subprocess.run(
        [sys.executable, str(path)], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return float(re.findall(r"^val_accuracy: (\S+)$", proc.stdout, flags=re.M)[-1])


@pytest.mark.parametrize(
    ("dataset", "model", "train"),
    [
        (DataConfig("digits"), "cnn", {"epochs": 3}),
        (DataConfig("digits"), "simple", {"epochs": 4, "schedule": "onecycle", "optimizer": "sgd", "lr": 0.05}),
        (DataConfig("shapes", samples=300, image_size=16), "cnn", {"epochs": 4, "augment": "light"}),
        (DataConfig("shapes", samples=300, image_size=16), "simple", {"epochs": 4}),
    ],
)
def test_the_script_trains_to_the_runs_accuracy(
    capsys: pytest.CaptureFixture[str], store: RunStore, tmp_path: Path, dataset: DataConfig, model: str, train: dict
) -> None:
    run = train_run(RunConfig(dataset, ModelConfig(model), TrainConfig(**{"batch_size": 64, **train})), store)
    out = tmp_path / "train_again.py"
    assert main(["script", run.id, "--out", str(out)]) == 0
    assert f"saved: {out}" in capsys.readouterr().out
    text = out.read_text()
    assert "import core" not in text and "from core" not in text and "lightbox" not in text.split('"""')[2].lower()
    assert "def train_one_epoch(" in text and "def evaluate(" in text and "def load_data(" in text
    assert abs(_run_script(out, tmp_path) - run.metrics["val_accuracy"]) <= 0.03


def test_runs_without_a_script_yet_are_one_sentence(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["script", "nope", "--out", str(tmp_path / "x.py")]) == 2
    assert "There is no run 'nope'" in capsys.readouterr().err
