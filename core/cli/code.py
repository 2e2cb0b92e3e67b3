"""The `script` and `tensorboard` commands: the code behind a run, and its curves for TensorBoard."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import LightboxError
from core.runs import RunStore


def configure(command: str, parser: argparse.ArgumentParser) -> None:
    """Add the options of `command` to its parser."""
    if command == "script":
        parser.add_argument("run_id", help="a run id (see `runs`)")
        parser.add_argument("--out", required=True, help="the .py file to write")
    else:
        parser.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="runs to write (see `runs`)")
        parser.add_argument("--out", required=True, help="the folder for the event files (one sub-folder per run)")


def _script(args: argparse.Namespace, store: RunStore) -> int:
    from core.script import run_script

    text = run_script(store, args.run_id)
    path = Path(args.out)
    try:
        path.write_text(text)
    except OSError as exc:
        raise LightboxError(f"Cannot write {path}: {exc.strerror or exc}. Choose a folder you can write to.") from exc
    print(f"lines: {len(text.splitlines())}")
    print(f"saved: {path}")
    return 0


def _tensorboard(args: argparse.Namespace, store: RunStore) -> int:
    from core.tensorboard_export import write_tensorboard

    for folder in write_tensorboard(store, args.run_ids, args.out):
        print(f"saved: {folder}")
    print(f"view: tensorboard --logdir {args.out}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the script or tensorboard command; return the exit code."""
    return (_script if args.command == "script" else _tensorboard)(args, RunStore(args.home))
