"""The command line: python -m core {train,lr-find,runs,datasets,download,import-dataset,models,classify}."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from core import cli_evaluate, cli_explain, cli_ship
from core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from core.data.augment import AUGMENTATIONS
from core.data.images import decode_image
from core.data.registry import DATASETS, default_train_config
from core.data.standard import STANDARD, download_dataset
from core.data.user import import_dataset, list_user_datasets
from core.devices import DEVICES, PRECISIONS
from core.distributed import launched_by_torchrun, train_distributed
from core.errors import LightboxError
from core.experiment import find_lr_for, train_run
from core.inference import Predictor
from core.models.registry import MODELS, InputSpec, build_model, count_parameters
from core.progress import FitProgress, ProgressBar
from core.runs import RunStore
from core.training import OPTIMIZERS, SCHEDULES

_DEFAULTS = TrainConfig()
_PER_DATASET = ("epochs", "batch_size", "lr", "optimizer", "schedule", "augment")


def _settings_parser() -> argparse.ArgumentParser:
    """Options shared by `train` and `lr-find`: data, model and training settings."""
    t = argparse.ArgumentParser(add_help=False)
    t.add_argument("--dataset", default="digits", help="a registered name, a class-folder tree, or a .zip")
    t.add_argument("--model", default="cnn", help=f"one of: {', '.join(MODELS)}")
    # None: the dataset's own default (default_train_config), the same the Train page starts from
    t.add_argument("--epochs", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--optimizer", help=f"one of: {', '.join(OPTIMIZERS)}")
    t.add_argument("--weight-decay", type=float, default=_DEFAULTS.weight_decay)
    t.add_argument("--schedule", help=f"one of: {', '.join(SCHEDULES)}")
    t.add_argument("--augment", help=f"one of: {', '.join(AUGMENTATIONS)}")
    t.add_argument("--seed", type=int, default=_DEFAULTS.seed)
    t.add_argument("--device", default="auto", help=f"one of: {', '.join(DEVICES)}")
    t.add_argument("--precision", default=_DEFAULTS.precision, help=f"one of: {', '.join(PRECISIONS)}")
    t.add_argument("--val-fraction", type=float, default=DataConfig().val_fraction)
    t.add_argument("--image-size", type=int, help="pixels per side (generated and imported datasets)")
    t.add_argument("--samples", type=int, help="number of images (generated datasets)")
    t.add_argument("--name", default="", help="a name for the run")
    return t


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core", description="Lightbox: train and use image classifiers.")
    p.add_argument("--home", help="folder that keeps runs (default: $LIGHTBOX_HOME or ~/.lightbox)")
    sub = p.add_subparsers(dest="command", required=True)
    settings = _settings_parser()
    sub.add_parser("train", help="train a model and keep the run", parents=[settings])
    sub.add_parser("lr-find", help="sweep learning rates and suggest one", parents=[settings])
    sub.add_parser("runs", help="list the kept runs")
    sub.add_parser("datasets", help="list the datasets and whether each is on this machine")
    d = sub.add_parser("download", help="download a standard dataset once and decode it for fast loading")
    d.add_argument("name", help=f"one of: {', '.join(STANDARD)}")
    i = sub.add_parser("import-dataset", help="keep a folder or .zip of class folders as a named dataset")
    i.add_argument("name", help="a name for the dataset, e.g. my-pets")
    i.add_argument("path", help="a folder with one sub-folder of images per class, or a .zip of such folders")
    i.add_argument("--image-size", type=int, default=64, help="pixels per side every image is scaled to")
    sub.add_parser("models", help="list the models")
    c = sub.add_parser("classify", help="classify images with a trained run")
    c.add_argument("images", nargs="+", help="image files")
    c.add_argument("--model", required=True, help="a run id (see `runs`), or `imagenet` for the built-in model")
    c.add_argument("--top-k", type=int, default=5)
    cli_explain.add_parsers(sub)
    cli_ship.add_parsers(sub)
    cli_evaluate.add_parsers(sub)
    return p


def _config(args: argparse.Namespace) -> RunConfig:
    return RunConfig(
        data=DataConfig(
            name=args.dataset, val_fraction=args.val_fraction, image_size=args.image_size, samples=args.samples
        ),
        model=ModelConfig(name=args.model),
        train=replace(
            default_train_config(args.dataset),
            **{k: getattr(args, k) for k in _PER_DATASET if getattr(args, k) is not None},
            weight_decay=args.weight_decay,
            seed=args.seed,
            device=args.device,
            precision=args.precision,
        ),
        name=args.name,
    )


def _train(args: argparse.Namespace, store: RunStore) -> int:
    if launched_by_torchrun():  # one of several processes: rank 0 records and reports, the others stay quiet
        run = train_distributed(_config(args), store, [FitProgress()])
        if run is None:
            return 0
    else:
        run = train_run(_config(args), store, [FitProgress()])
    for key, value in run.metrics.items():
        if isinstance(value, float):
            print(f"{key}: {value:.4f}")
        elif isinstance(value, int):
            print(f"{key}: {value}")
    print(f"params: {run.params}")
    print(f"status: {run.status}")
    print(f"run_id: {run.id}")
    return 0


def _lr_find(args: argparse.Namespace) -> int:
    bar = ProgressBar(100, "lr-find")
    result = find_lr_for(_config(args), progress=lambda done, total: bar.update(done * 100 // max(total, 1)))
    bar.close()
    print(f"suggested_lr: {result.suggestion:.3g}" if result.suggestion else "suggested_lr: none")
    print(result.explanation)
    return 0


def _runs(store: RunStore) -> int:
    runs = store.list_runs()
    if not runs:
        print("No runs yet. Train one: python -m core train --dataset digits")
        return 0
    print(f"{'run_id':<21} {'status':<11} {'dataset':<12} {'model':<9} {'val_acc':>7} {'epochs':>6}  created")
    for r in runs:
        acc = r.metrics.get("val_accuracy")
        acc_text = f"{acc:.4f}" if isinstance(acc, float) else "-"
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created))
        dataset = Path(r.dataset).name[:12]
        epochs = r.metrics.get("epochs_completed", "-")
        print(f"{r.id:<21} {r.status:<11} {dataset:<12} {r.model:<9} {acc_text:>7} {epochs!s:>6}  {created}")
    return 0


def _models() -> int:
    spec = InputSpec(3, 32, 32, tuple(str(i) for i in range(10)), (0.5,) * 3, (0.25,) * 3)
    print(f"{'name':<10} {'params*':>10}  description")
    for name, m in MODELS.items():
        print(f"{name:<10} {count_parameters(build_model(name, spec)):>10,}  {m.title}: {m.summary}")
    print("* for 32x32 colour images and 10 classes; the count changes with the dataset.")
    return 0


def _datasets() -> int:
    for name, d in DATASETS.items():
        where = f" [needs a download, about {d.download_mb} MB]" if d.needs_download() else ""
        where = where or (" [downloaded]" if d.download_mb else "")
        print(f"{name:<13} {d.title}: {d.summary}{where}")
    for u in list_user_datasets():
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(u.created))
        size = f"{u.image_size}x{u.image_size}"
        print(f"{u.name:<13} Your images: {u.images:,} in {len(u.classes)} classes, {size} px, imported {created}.")
    print("Or give a folder with one sub-folder of images per class, or a .zip of such folders;")
    print("keep one by name with: python -m core import-dataset NAME PATH")
    return 0


def _download(args: argparse.Namespace) -> int:
    bars: dict[str, ProgressBar] = {}

    def progress(done: int, total: int, stage: str) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars.clear()
            bars[stage] = ProgressBar(total, stage)
        note = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if stage == "download" else f"{done}/{total}"
        bars[stage].update(done, note)

    dataset = download_dataset(args.name, progress)
    for bar in bars.values():
        bar.close()
    print(f"name: {dataset.name}")
    print(f"images: {len(dataset)} (the official training split)")
    print(f"classes: {len(dataset.classes)}")
    return 0


def _import_dataset(args: argparse.Namespace) -> int:
    bar = ProgressBar(100, "import")
    dataset = import_dataset(
        args.name,
        args.path,
        image_size=args.image_size,
        progress=lambda done, total: bar.update(done * 100 // max(total, 1), f"{done}/{total} images"),
    )
    bar.close()
    for note in dataset.skipped:
        print(f"skipped {note}", file=sys.stderr)
    print(f"name: {dataset.name}")
    print(f"images: {len(dataset)}")
    print(f"classes: {len(dataset.classes)}")
    print(f"skipped: {len(dataset.skipped)}")
    return 0


def _classify(args: argparse.Namespace, store: RunStore) -> int:
    predictor = Predictor.load(store, args.model)
    for path in args.images:
        if len(args.images) > 1:
            print(f"# {path}")
        for p in predictor.predict(decode_image(path), top_k=args.top_k):
            print(f"{p.label}\t{p.probability:.4f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (2 for a problem the user can fix)."""
    args = _parser().parse_args(argv)
    if args.home:  # runs, imported datasets and cached weights all live under one home
        os.environ["LIGHTBOX_HOME"] = args.home
    try:
        if args.command == "datasets":
            return _datasets()
        if args.command == "models":
            return _models()
        if args.command == "import-dataset":
            return _import_dataset(args)
        if args.command == "download":
            return _download(args)
        if args.command == "lr-find":
            return _lr_find(args)
        store = RunStore(args.home)
        if args.command == "train":
            return _train(args, store)
        if args.command == "runs":
            return _runs(store)
        if args.command in cli_explain.COMMANDS:
            return cli_explain.run(args, store)
        if args.command in cli_ship.COMMANDS:
            return cli_ship.run(args, store)
        if args.command in cli_evaluate.COMMANDS:
            return cli_evaluate.run(args, store)
        return _classify(args, store)
    except LightboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
