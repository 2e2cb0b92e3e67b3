"""The `models` and `classify` commands: list the architectures, classify image files."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from core.cli import number
from core.errors import LightboxError
from core.home import default_home
from core.onnx_predictor import OnnxPredictor, onnx_copy_path

if TYPE_CHECKING:
    from core.inference import Predictor

MODEL_HELP = "a run id (see `runs`), or `imagenet` for the built-in model"
ONNX_HELP = (
    ". Where `export MODEL --format onnx` has written its copy, classify answers from it with onnxruntime and "
    "never imports torch (a few times quicker to start)"
)


def configure(command: str, parser: argparse.ArgumentParser) -> None:
    """Add the options of `command` to its parser."""
    if command == "classify":
        parser.add_argument("images", nargs="+", help="image files")
        parser.add_argument("--model", required=True, help=MODEL_HELP + ONNX_HELP)
        parser.add_argument("--top-k", type=number(int, 1), default=5, help="classes to print, most likely first")


def _models(args: argparse.Namespace) -> int:
    from core.models.registry import MODELS, build_model, count_parameters
    from core.prepare import InputSpec

    spec = InputSpec(3, 32, 32, tuple(str(i) for i in range(10)), (0.5,) * 3, (0.25,) * 3)
    print(f"{'name':<10} {'params*':>10}  description")
    for name, m in MODELS.items():
        print(f"{name:<10} {count_parameters(build_model(name, spec)):>10,}  {m.title}: {m.summary}")
    print("* for 32x32 colour images and 10 classes; the count changes with the dataset.")
    return 0


def _classify(args: argparse.Namespace) -> int:
    predictor: OnnxPredictor | Predictor | None = OnnxPredictor.load(args.home or default_home(), args.model)
    if predictor is None:  # no current ONNX copy: PyTorch answers
        from core.inference import Predictor
        from core.runs import RunStore

        predictor = Predictor.load(RunStore(args.home), args.model)
    failed = 0
    for path in args.images:
        if len(args.images) > 1:
            print(f"# {path}")
        try:
            predictions = predictor.predict(path, top_k=args.top_k)
        except LightboxError as exc:  # one bad file among many: said, and the others still classified
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        for p in predictions:
            print(f"{p.label}\t{p.probability:.4f}")
    if not isinstance(predictor, OnnxPredictor) and sys.stderr.isatty() and _could_keep_a_copy(predictor):
        print(_copy_tip(args.home or default_home(), args.model), file=sys.stderr)  # a person, not a script
    return 2 if failed else 0


def _copy_tip(home: str | os.PathLike[str], model: str) -> str:
    """Say how to make classify answer from an ONNX copy, or why the copy there was not used."""
    export = f"`python -m core export {model} --format onnx`"
    copy = onnx_copy_path(home, model)
    if copy is not None and copy.is_file():
        return f"note: PyTorch answered: {copy} is not this model's current copy (or cannot be read); {export} again"
    return (
        f"tip: {export} once, and classify answers from that copy with onnxruntime, without loading PyTorch: "
        "several times quicker to start"
    )


def _could_keep_a_copy(predictor: Predictor) -> bool:
    """Say whether `export --format onnx` can write this model's copy and onnxruntime is here to run it."""
    import importlib.util

    from core.explain import is_quantized

    return importlib.util.find_spec("onnxruntime") is not None and not is_quantized(predictor.model)


def run(args: argparse.Namespace) -> int:
    """Run the models or classify command; return the exit code."""
    return _models(args) if args.command == "models" else _classify(args)
