"""The training script of a run: standalone (no Lightbox on the path), and it lands near the run's accuracy."""

from __future__ import annotations

import json
import re
import runpy
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from core import (
    DataConfig,
    LightboxError,
    ModelConfig,
    RunConfig,
    RunStore,
    TrainConfig,
    import_dataset,
    load_dataset,
    train_run,
    train_val_split,
)
from core.cli import main
from core.script import training_script
from tests.helpers.datasets import make_mixed_tree, zip_tree
from tests.helpers.scripts import ScriptRunner

# The tests that run a script share one child Python (tests/helpers/scripts.py), so they run on one worker.
RUNS_A_SCRIPT = pytest.mark.xdist_group("training-scripts")


@pytest.fixture(scope="module")
def script_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptRunner]:
    runner = ScriptRunner(tmp_path_factory.mktemp("script-runner"))
    yield runner
    runner.close()


def _run_script(runner: ScriptRunner, path: Path, tmp_path: Path) -> float:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    proc = runner.run(path, cwd=elsewhere, home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return float(re.findall(r"^val_accuracy: (\S+)$", proc.stdout, flags=re.M)[-1])


@RUNS_A_SCRIPT
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
    capsys: pytest.CaptureFixture[str],
    store: RunStore,
    tmp_path: Path,
    script_runner: ScriptRunner,
    dataset: DataConfig,
    model: str,
    train: dict,
) -> None:
    run = train_run(RunConfig(dataset, ModelConfig(model), TrainConfig(**{"batch_size": 64, **train})), store)
    out = tmp_path / "train_again.py"
    assert main(["script", run.id, "--out", str(out)]) == 0
    assert f"saved: {out}" in capsys.readouterr().out
    text = out.read_text()
    assert "import core" not in text and "from core" not in text and "lightbox" not in text.split('"""')[2].lower()
    assert "def train_one_epoch(" in text and "def evaluate(" in text and "def load_data(" in text
    assert _run_script(script_runner, out, tmp_path) == round(run.metrics["val_accuracy"], 4)  # the same run


def test_runs_without_a_script_yet_are_one_sentence(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["script", "nope", "--out", str(tmp_path / "x.py")]) == 2
    assert "There is no run 'nope'" in capsys.readouterr().err


def _import(kind: str, tree: Path, tmp_path: Path) -> DataConfig:
    """Make the dataset a run reads: imported from the folder, from a .zip, uploaded, or the folder's path itself."""
    if kind == "path":
        return DataConfig(str(tree), image_size=16)
    if kind == "folder":
        import_dataset("mixed", tree, image_size=16)
    else:
        zipped = tmp_path / "mixed.zip"
        zipped.write_bytes(zip_tree(tree))
        import_dataset("mixed", zipped if kind == "zip" else zipped.read_bytes(), image_size=16)
    return DataConfig("mixed")


@pytest.mark.parametrize("kind", ["folder", "zip", "upload", "path"])
def test_the_script_decodes_and_splits_your_images_as_lightbox_does(store: RunStore, tmp_path: Path, kind: str) -> None:
    tree = make_mixed_tree(tmp_path / "pictures")
    data = _import(kind, tree, tmp_path)
    run = train_run(RunConfig(data, ModelConfig("simple"), TrainConfig(epochs=1)), store)
    text = training_script(run)
    if kind == "upload":  # the path is not known: the reader puts theirs in
        assert 'DATA = "mixed.zip"  #' in text
        text = text.replace('DATA = "mixed.zip"', f"DATA = {json.dumps(str(tmp_path / 'mixed.zip'))}")
    (tmp_path / "script.py").write_text(text)
    script = runpy.run_path(str(tmp_path / "script.py"))  # its functions, without running main()
    images, labels, classes = script["load_data"]()
    train_idx, val_idx = script["split"](labels, len(classes), val_fraction=0.2, seed=0)
    train, val = train_val_split(load_dataset(data), data)
    assert classes == train.classes == ("amber", "khaki", "ochre", "olive")  # the empty folder is left out
    assert torch.equal(images[train_idx], train.images) and torch.equal(labels[train_idx], train.labels)
    assert torch.equal(images[val_idx], val.images) and torch.equal(labels[val_idx], val.labels)


@RUNS_A_SCRIPT
def test_a_script_trains_on_your_zip_to_the_runs_accuracy(
    capsys: pytest.CaptureFixture[str], store: RunStore, tmp_path: Path, script_runner: ScriptRunner
) -> None:
    data = _import("zip", make_mixed_tree(tmp_path / "pictures"), tmp_path)
    train = TrainConfig(epochs=4, batch_size=32, augment="light", schedule="onecycle", lr=0.01)
    run = train_run(RunConfig(data, ModelConfig("cnn"), train), store)
    assert 0.4 < run.metrics["val_accuracy"] < 0.98  # overlapping classes: agreement is not a given
    out = tmp_path / "train_again.py"
    assert main(["script", run.id, "--out", str(out)]) == 0
    text = out.read_text()
    assert f"DATA = {json.dumps(str(tmp_path / 'mixed.zip'))}" in text and "from PIL import" in text
    assert _run_script(script_runner, out, tmp_path) == round(run.metrics["val_accuracy"], 4)  # the same run


def test_transfer_and_standard_dataset_runs_say_why_there_is_no_script(store: RunStore) -> None:
    run = train_run(RunConfig(DataConfig("digits"), ModelConfig("simple"), TrainConfig(epochs=1)), store)
    lite0 = replace(run, config=replace(run.config, model=ModelConfig("lite0_transfer")))
    with pytest.raises(LightboxError, match="EfficientNet-Lite0 backbone, whose network code is Lightbox's own"):
        training_script(lite0)
    mnist = replace(run, config=replace(run.config, data=DataConfig("mnist")))
    with pytest.raises(LightboxError, match="not yet for 'mnist'"):
        training_script(mnist)
