from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from core import RunStore, load_dataset
from core.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _metrics(out: str) -> dict[str, str]:
    return dict(re.findall(r"^(\w+): (\S+)$", out, flags=re.M))


@pytest.mark.slow
def test_default_train_from_a_fresh_process_reaches_95_percent(lightbox_home: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "core", "train", "--dataset", "digits"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "LIGHTBOX_HOME": str(lightbox_home)},
    )
    assert proc.returncode == 0, proc.stderr
    metrics = _metrics(proc.stdout)
    assert float(metrics["val_accuracy"]) >= 0.95
    assert RunStore(lightbox_home).get_run(metrics["run_id"]).status == "finished"
    assert "train [" in proc.stderr  # the progress bar


def test_ctrl_c_stops_training_after_its_batch_and_keeps_the_run(lightbox_home: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "train", "--model", "simple", "--epochs", "50", "--pace", "0.3"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "LIGHTBOX_HOME": str(lightbox_home)},
    )  # fmt: skip
    seen = ""
    while "epoch 2/50" not in seen:  # the progress bar: an epoch has been recorded
        line = proc.stderr.readline()
        assert line, seen
        seen += line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "Traceback" not in err, err
    metrics = _metrics(out)
    assert metrics["status"] == "stopped" and int(metrics["epochs_completed"]) >= 1  # it said failed before
    run = RunStore(lightbox_home).get_run(metrics["run_id"])
    assert run.status == "stopped" and f"{run.metrics['val_accuracy']:.4f}" == metrics["val_accuracy"]


def test_a_reader_that_stops_reading_is_no_traceback(lightbox_home: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # `python -m core runs | head`: head has gone before the table is printed
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "core", "runs"], cwd=ROOT, stdout=write, stderr=subprocess.PIPE, text=True,
            timeout=120, env={**os.environ, "LIGHTBOX_HOME": str(lightbox_home)},
        )  # fmt: skip
    finally:
        os.close(write)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_train_then_runs_then_classify(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["train", "--dataset", "digits", "--model", "simple", "--epochs", "3", "--lr", "0.01"]) == 0
    run_id = _metrics(capsys.readouterr().out)["run_id"]

    assert main(["runs"]) == 0
    assert run_id in capsys.readouterr().out

    _, val = load_dataset("digits").split(0.2, seed=0)
    paths = []
    for i in range(2):
        path = tmp_path / f"digit{i}.png"
        val.to_pil(i).save(path)
        paths.append(str(path))
    assert main(["classify", *paths, "--model", run_id, "--top-k", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"# {paths[0]}" and len(out) == 8
    rows = [line.split("\t") for line in out[1:4]]
    assert [label for label, _ in rows] and all(label in "0123456789" for label, _ in rows)
    probs = [float(p) for _, p in rows]
    assert probs == sorted(probs, reverse=True)
    (tmp_path / "notes.png").write_text("not a picture")
    assert main(["classify", str(tmp_path / "notes.png"), paths[1], "--model", run_id]) == 2  # one bad file
    printed = capsys.readouterr()
    assert printed.err.startswith("error: ") and f"# {paths[1]}" in printed.out  # the next one still classified
    assert len(printed.out.splitlines()) == 1 + 1 + 5  # the two files' headings, the good one's five classes


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--epochs", "0"], "'0' is out of range: give a number at least 1"),
        (["train", "--epochs", "1.5"], "'1.5' is not a whole number"),
        (["train", "--image-size", "0"], "at least 1"),  # it trained at 16 px and recorded 0
        (["train", "--pace", "-1"], "at least 0"),
        (["train", "--val-fraction", "nan"], "from 0 to 1"),
        (["classify", "x.png", "--model", "imagenet", "--top-k", "-3"], "at least 1"),  # it printed one class
        (["attack", "x.png", "--model", "imagenet", "--out", "a.png", "--epsilon", "0.001"], "from 0.00392 to 1"),
    ],
)
def test_numbers_out_of_range_are_refused_before_anything_runs(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2 and message in capsys.readouterr().err


def test_listing_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs"]) == 0
    assert "No runs yet" in capsys.readouterr().out
    assert main(["datasets"]) == 0
    assert "digits" in capsys.readouterr().out
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "resnet18" in out and "11,173,962" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--dataset", "mnist-typo"], "Unknown dataset 'mnist-typo'"),
        (["train", "--model", "vgg"], "Unknown model 'vgg'"),
        (["train", "--optimizer", "lbfgs"], "Unknown optimizer"),
        (["train", "--lr", "-1"], "learning rate"),
        (["classify", "x.png", "--model", "nope"], "There is no run 'nope'"),
    ],
)
def test_user_mistakes_are_one_line_messages(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_classify_a_file_that_is_not_an_image(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["train", "--model", "simple", "--epochs", "1"]) == 0
    run_id = _metrics(capsys.readouterr().out)["run_id"]
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is text, not a photo")
    assert main(["classify", str(fake), "--model", run_id]) == 2
    assert "image" in capsys.readouterr().err.lower()
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.png")
    assert main(["classify", str(tmp_path / "ok.png"), "--model", run_id]) == 0


def test_lr_find_suggests_a_rate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lr-find", "--dataset", "digits", "--model", "cnn"]) == 0
    out = capsys.readouterr().out
    rate = float(_metrics(out)["suggested_lr"])
    assert 1e-5 < rate < 1 and "falls fastest" in out


def test_train_with_a_schedule_and_augmentation(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "--epochs", "3", "--schedule", "onecycle", "--augment", "light", "--model", "cnn"]
    assert main(argv) == 0
    metrics = _metrics(capsys.readouterr().out)
    run = RunStore().get_run(metrics["run_id"])
    assert (run.config.train.schedule, run.config.train.augment) == ("onecycle", "light")
    assert float(metrics["val_accuracy"]) > 0.8


def test_classify_with_the_built_in_imagenet_model(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = pytest.importorskip("skimage.data")
    path = tmp_path / "coffee.jpg"
    Image.fromarray(data.coffee()).save(path)
    assert main(["classify", str(path), "--model", "imagenet", "--top-k", "3"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3 and {"espresso", "cup"} & {label for label, _ in rows}


def test_import_dataset_then_list_and_train_on_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.helpers.datasets import make_tree, zip_tree

    archive = tmp_path / "pets.zip"
    archive.write_bytes(zip_tree(make_tree(tmp_path / "pets")))
    assert main(["import-dataset", "my-pets", str(archive), "--image-size", "16"]) == 0
    out, err = capsys.readouterr()
    assert _metrics(out) == {"name": "my-pets", "images": "90", "classes": "3", "skipped": "1"}
    assert "import [" in err and "notes.txt" in err
    assert main(["import-dataset", "my-pets", str(archive)]) == 2  # it replaced the first one silently
    assert capsys.readouterr().err.startswith("error: There is a dataset called 'my-pets' already (90 images)")
    assert main(["import-dataset", "my-pets", str(archive), "--image-size", "16", "--replace"]) == 0
    capsys.readouterr()

    assert main(["datasets"]) == 0
    assert re.search(r"^my-pets .*90 in 3 classes, 16x16", capsys.readouterr().out, flags=re.M)

    assert main(["train", "--dataset", "my-pets", "--epochs", "2", "--batch-size", "16"]) == 0
    metrics = _metrics(capsys.readouterr().out)
    run = RunStore().get_run(metrics["run_id"])
    assert run.dataset == "my-pets" and run.status == "finished"
    assert float(metrics["val_accuracy"]) > 0.6


def test_import_dataset_mistakes_are_one_line_messages(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["import-dataset", "digits", str(tmp_path)]) == 2
    assert "built-in" in capsys.readouterr().err
    assert main(["import-dataset", "pets", str(tmp_path / "missing.zip")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err


def test_a_torchvision_model_offline_and_not_cached_is_one_sentence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib.error

    from core.models import pretrained

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(pretrained, "_download_to", offline)
    Image.new("RGB", (32, 32)).save(tmp_path / "x.png")
    assert main(["classify", str(tmp_path / "x.png"), "--model", "resnet50"]) == 2
    err = capsys.readouterr().err
    assert "ResNet-50" in err and "EfficientNet-Lite0" in err and "Traceback" not in err


def test_a_paced_run_takes_its_time_per_epoch(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--model", "simple", "--epochs", "2", "--pace", "0.5", "--name", "paced"]) == 0
    run = RunStore().get_run(_metrics(capsys.readouterr().out)["run_id"])
    assert run.status == "finished" and run.metrics["train_seconds"] >= 2 * 0.5  # the epochs waited out their pace


def test_runs_says_whose_each_run_is_on_a_private_servers_home(
    capsys: pytest.CaptureFixture[str], lightbox_home: Path
) -> None:
    from core import train_run
    from core.sharing import new_workspace
    from tests.helpers import quick_config

    store, visitor = RunStore(lightbox_home), new_workspace()
    train_run(quick_config(epochs=1), store)
    train_run(quick_config(epochs=1), store.scoped(visitor))
    assert main(["runs"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split()[-2:] == ["owner", "name"]
    owners = [row[header.index("owner") :].split("  ")[0].strip() for row in rows]
    assert sorted(owners) == ["server", f"visitor {visitor[:6]}"]
