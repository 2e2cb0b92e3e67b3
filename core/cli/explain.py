"""The `explain` and `attack` commands: a Grad-CAM picture, or an image that fools the model, as a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from core.cli import number
from core.cli.models import MODEL_HELP
from core.data.images import decode_image
from core.errors import LightboxError
from core.inference import Predictor
from core.runs import RunStore


def configure(command: str, parser: argparse.ArgumentParser) -> None:
    """Add the options of `command` (explain or attack) to its parser."""
    parser.add_argument("image", help="an image file")
    parser.add_argument("--model", required=True, help=MODEL_HELP)
    parser.add_argument("--out", required=True, help="the PNG file to write")
    if command == "explain":
        parser.add_argument("--target", help="the class to explain, by name or number (default: the model's answer)")
    else:
        parser.add_argument(
            "--epsilon", type=number(float, 1 / 255, 1), default=0.02,
            help="the largest change of any pixel, 1/255 (one step of 8-bit brightness) to 1 (default: 0.02)",
        )  # fmt: skip


def class_index(predictor: Predictor, name: str) -> int:
    """Return the index of a class given by name or number, or raise a LightboxError that lists a few."""
    if name in predictor.classes:
        return predictor.classes.index(name)
    if name.isdigit() and int(name) < len(predictor.classes):
        return int(name)
    examples = ", ".join(predictor.classes[:5])
    raise LightboxError(
        f"This model has no class '{name}'. It knows {len(predictor.classes)} classes, e.g. {examples}; "
        "give one of their names or its number."
    )


def _save(image: Image.Image, out: str) -> None:
    """Write the image as a PNG file, or raise a LightboxError that says why it could not."""
    path = Path(out)
    if path.suffix.lower() != ".png":
        raise LightboxError(f"Give --out a file name ending in .png (not '{path.name}'): PNG keeps every pixel.")
    try:
        image.save(path, format="PNG")
    except OSError as exc:
        raise LightboxError(f"Cannot write {path}: {exc.strerror or exc}. Choose a folder you can write to.") from exc


def _explain(args: argparse.Namespace, predictor: Predictor, image: Image.Image) -> int:
    target = None if args.target is None else class_index(predictor, args.target)
    picture, label = predictor.explain(image, target)
    _save(picture, args.out)
    print(f"explained: {label}")
    print(f"saved: {args.out}")
    return 0


def _attack(args: argparse.Namespace, predictor: Predictor, image: Image.Image) -> int:
    from core.adversarial import attack

    result = attack(predictor, image, args.epsilon)
    _save(result.adversarial, args.out)
    before, after = result.before.predictions[0], result.after.predictions[0]
    print(f"before: {before.label} ({before.probability:.1%})")
    print(f"after: {after.label} ({after.probability:.1%})")
    print(f"epsilon: {result.epsilon:.4f}")
    print(f"saved: {args.out}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the explain or attack command; return the exit code."""
    image = decode_image(args.image)
    predictor = Predictor.load(RunStore(args.home), args.model)
    return (_explain if args.command == "explain" else _attack)(args, predictor, image)
