"""The command line: `python -m core COMMAND ...`, one module per group of commands.

The table below names every command, its one-line help and the module that runs it. Only the chosen
command's module is imported (and with it torch), so `python -m core --help` stays quick and light.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

# command -> (module under core.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("train", "train a model and keep the run"),
    "lr-find": ("train", "sweep learning rates and suggest one"),
    "runs": ("train", "list the kept runs"),
    "datasets": ("data", "list the datasets and whether each is on this machine"),
    "download": ("data", "download a standard dataset once and decode it for fast loading"),
    "import-dataset": ("data", "keep a folder or .zip of class folders as a named dataset"),
    "models": ("models", "list the models"),
    "classify": ("models", "classify images with a trained run or the built-in model"),
    "explain": ("explain", "save a Grad-CAM picture of where the model looked"),
    "attack": ("explain", "save an image changed just enough to fool the model (FGSM)"),
    "evaluate": ("evaluate", "score runs on their validation images; two: McNemar's test; two or more: their ensemble"),
    "export": ("ship", "write a run's model as a .pt2 (torch.export), ONNX or TorchScript (old) file"),
    "bundle": ("ship", "write a run (settings, history, metrics, weights) as one .zip"),
    "restore": ("ship", "add the run in a bundle .zip to the kept runs"),
    "quantize": ("ship", "make an int8 copy of a run (or of `imagenet`, the built-in model) as a new run"),
    "script": ("code", "write a standalone PyTorch script that trains the run again"),
    "tensorboard": ("code", "write TensorBoard event files (curves, settings, confusion matrix) for runs"),
}


def number(kind: Callable[[str], float], low: float, high: float | None = None) -> Callable[[str], float]:
    """Return an argparse type that reads a number of `kind` (int or float) from `low` to `high` (None: no top)."""

    def read(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a {'whole ' if kind is int else ''}number") from None
        if not (value >= low and (high is None or value <= high)):  # NaN fails both
            span = f"at least {low:.3g}" if high is None else f"from {low:.3g} to {high:.3g}"
            raise argparse.ArgumentTypeError(f"'{text}' is out of range: give a number {span}")
        return value

    read.__name__ = getattr(kind, "__name__", "number")  # argparse names the type in its messages
    return read


def _chosen(argv: Sequence[str]) -> str | None:
    """Return the command named in argv (skipping --home's value), or None."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token == "--home":
            skip = True
        elif token in COMMANDS:
            return token
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Return the parser; only the command named in argv gets its options (and imports its module)."""
    p = argparse.ArgumentParser(prog="python -m core", description="Lightbox: train and use image classifiers.")
    p.add_argument("--home", help="folder that keeps runs (default: $LIGHTBOX_HOME or ~/.lightbox)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _chosen(argv)
    for name, (module, text) in COMMANDS.items():
        parser = sub.add_parser(name, help=text, description=text)
        if name == chosen:
            importlib.import_module(f"core.cli.{module}").configure(name, parser)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (2 for a problem the user can fix)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    if args.home:  # runs, imported datasets and cached weights all live under one home
        os.environ["LIGHTBOX_HOME"] = args.home
    from core.errors import LightboxError

    try:
        code = importlib.import_module(f"core.cli.{COMMANDS[args.command][0]}").run(args)
        sys.stdout.flush()  # a reader that stopped reading shows here, not in Python's flush at exit
        return code
    except BrokenPipeError:  # `python -m core runs | head`: head had enough, nothing went wrong here
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # as Python's documentation does
        return 1
    except LightboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


__all__ = ["COMMANDS", "build_parser", "main", "number"]
