"""Each built-in dataset's default settings: one source that the Train page and the command line both read."""

from __future__ import annotations

from core import DATASETS, TrainConfig, default_train_config
from core.cli import build_parser
from core.cli.train import _config
from tests.helpers.pages import open_page

FIELDS = ("epochs", "lr", "batch_size", "optimizer", "schedule", "augment")
WIDGETS = {"epochs": "slider", "lr": "select_slider", "batch_size": "select_slider"}
KEYS = {"batch_size": "batch", "optimizer": "opt"}


def _args(argv: list[str]):
    return build_parser(argv).parse_args(argv)


def _cli(dataset: str) -> TrainConfig:
    return _config(_args(["train", "--dataset", dataset])).train


def _page_values(at) -> dict[str, object]:
    values = {}
    for name in FIELDS:
        kind = WIDGETS.get(name, "selectbox")
        values[name] = getattr(at, kind)(key=f"train_{KEYS.get(name, name)}").value
    return values


def test_shapes_has_its_own_defaults_and_the_cli_uses_them() -> None:
    shapes = default_train_config("shapes")
    assert shapes != TrainConfig()
    assert shapes.schedule == "onecycle"
    assert _cli("shapes") == shapes
    assert _cli("digits") == default_train_config("digits") == TrainConfig()
    args = _args(["train", "--dataset", "shapes", "--epochs", "2", "--lr", "0.1"])
    assert (_config(args).train.epochs, _config(args).train.lr, _config(args).train.schedule) == (2, 0.1, "onecycle")


def test_train_page_starts_from_each_datasets_defaults_like_the_cli() -> None:
    at = open_page("train")
    for dataset in ("digits", "shapes", "digits"):  # and back: each dataset starts from what works on it
        at.selectbox(key="train_dataset").set_value(dataset).run()
        assert not at.exception, at.exception
        expected = _cli(dataset)
        assert _page_values(at) == {name: getattr(expected, name) for name in FIELDS}, dataset
    spec = DATASETS["shapes"]
    at.selectbox(key="train_dataset").set_value("shapes").run()
    assert at.select_slider(key="train_size").value == spec.default_image_size
    assert at.select_slider(key="train_samples").value == spec.default_samples
