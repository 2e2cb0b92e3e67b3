"""The `train`, `lr-find` and `runs` commands: train a model and keep the run, find a rate, list runs."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from core.cli import number
from core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from core.data.augment import AUGMENTATIONS
from core.devices import DEVICES, PRECISIONS
from core.models.registry import MODELS
from core.progress import FitProgress, ProgressBar
from core.runs import RunStore
from core.sharing import SERVER
from core.training import OPTIMIZERS, SCHEDULES

_DEFAULTS = TrainConfig()
_PER_DATASET = ("epochs", "batch_size", "lr", "optimizer", "schedule", "augment")


def _add_settings(t: argparse.ArgumentParser) -> None:
    """Add the options shared by `train` and `lr-find`: data, model and training settings."""
    t.add_argument("--dataset", default="digits", help="a registered name, a class-folder tree, or a .zip")
    t.add_argument("--model", default="cnn", help=f"one of: {', '.join(MODELS)}")
    # None: the dataset's own default (default_train_config), the same the Train page starts from
    t.add_argument("--epochs", type=number(int, 1), help="passes over the training images")
    t.add_argument("--lr", type=float, help="learning rate: how big a step each correction takes")
    t.add_argument("--batch-size", type=number(int, 1), help="images per optimiser step")
    t.add_argument("--optimizer", help=f"one of: {', '.join(OPTIMIZERS)}")
    t.add_argument(
        "--weight-decay", type=number(float, 0), default=_DEFAULTS.weight_decay, help="how hard weights are pulled to 0"
    )
    t.add_argument("--schedule", help=f"one of: {', '.join(SCHEDULES)}")
    t.add_argument("--augment", help=f"one of: {', '.join(AUGMENTATIONS)}")
    t.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="same seed, same settings: the same run")
    t.add_argument("--device", default="auto", help=f"one of: {', '.join(DEVICES)}")
    t.add_argument("--precision", default=_DEFAULTS.precision, help=f"one of: {', '.join(PRECISIONS)}")
    t.add_argument(
        "--val-fraction", type=number(float, 0, 1), default=DataConfig().val_fraction,
        help="share of the images held back to check the model on",
    )  # fmt: skip
    t.add_argument("--image-size", type=number(int, 1), help="pixels per side (generated and imported datasets)")
    t.add_argument("--samples", type=number(int, 1), help="number of images (generated datasets)")
    t.add_argument("--name", default="", help="a name for the run")


def configure(command: str, parser: argparse.ArgumentParser) -> None:
    """Add the options of `command` to its parser."""
    if command in ("train", "lr-find"):
        _add_settings(parser)
    if command == "train":
        parser.add_argument(
            "--pace", type=number(float, 0), default=0.0, help="make each epoch last at least this many seconds"
        )


def _config(args: argparse.Namespace) -> RunConfig:
    from core.data.registry import default_train_config

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


@contextmanager
def _stop_on_ctrl_c() -> Iterator[threading.Event]:
    """Yield an event that the first Ctrl-C sets (training stops after its batch, the run kept as stopped); a
    second one interrupts at once (the run kept as interrupted, with the epochs it finished)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():  # only the main thread receives signals
        yield stop
        return

    def on_interrupt(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nStopping after this batch; the run is kept (Ctrl-C again to quit at once).", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _train(args: argparse.Namespace) -> int:
    from core.callbacks import Pace
    from core.parallel import launched_by_torchrun
    from core.train_runs import train_distributed, train_run

    store = RunStore(args.home)
    callbacks = [FitProgress(), *([Pace(args.pace)] if args.pace > 0 else [])]
    if launched_by_torchrun():  # one of several processes: rank 0 records and reports, the others stay quiet
        run = train_distributed(_config(args), store, callbacks)
        if run is None:
            return 0
    else:
        with _stop_on_ctrl_c() as stop:
            run = train_run(_config(args), store, callbacks, stop)
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
    from core.train_runs import find_lr_for

    bar = ProgressBar(100, "lr-find")
    result = find_lr_for(_config(args), progress=lambda done, total: bar.update(done * 100 // max(total, 1)))
    bar.close()
    print(f"suggested_lr: {result.suggestion:.3g}" if result.suggestion else "suggested_lr: none")
    print(result.explanation)
    return 0


def _runs(args: argparse.Namespace) -> int:
    runs = RunStore(args.home).list_runs()
    if not runs:
        print("No runs yet. Train one: python -m core train --dataset digits")
        return 0
    # a private server's home also holds its visitors' runs: say whose (the command line's own are the server's)
    visitors = any(r.owner != SERVER for r in runs)
    rows = [("run_id", "status", "dataset", "model", "val_acc", "epochs", "created", *(("owner",) * visitors), "name")]
    for r in runs:
        acc = r.metrics.get("val_accuracy")
        model = f"{r.model} int8" if r.config.model.quantization == "int8" else r.model  # a copy, not its original
        owner = ("server" if r.owner == SERVER else f"visitor {r.owner[:6]}",) if visitors else ()
        rows.append((
            r.id, r.status, Path(r.dataset).name, model, f"{acc:.4f}" if isinstance(acc, float) else "-",
            str(r.metrics.get("epochs_completed", "-")), time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created)),
            *owner, " ".join(r.name.split()),  # one line, whatever was typed
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]  # each column as wide as needed
    numbers = {4, 5}  # accuracy and epochs line up on the right
    for row in rows:
        cells = [c.rjust(w) if i in numbers else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False))]
        print("  ".join([*cells, row[-1]]))
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the train, lr-find or runs command; return the exit code."""
    return {"train": _train, "lr-find": _lr_find, "runs": _runs}[args.command](args)
