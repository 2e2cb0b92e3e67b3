"""The `export`, `bundle`, `restore` and `quantize` commands: ship a run's model, keep a run as a .zip,
bring it back, make an int8 copy."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from core.bundle import bundle_file_name, restore_bundle, write_bundle
from core.child import WORKSPACE_ENV
from core.export import EXPORT_FORMATS, FORMAT_NOTES, export_pretrained, export_run
from core.inference import PRETRAINED
from core.runs import RunStore


def configure(command: str, parser: argparse.ArgumentParser) -> None:
    """Add the options of `command` to its parser."""
    if command == "export":
        parser.add_argument("run_id", help="a run id (see `runs`), or `imagenet` for the built-in model")
        formats = "; ".join(f"{name}: {note}" for name, note in FORMAT_NOTES.items())
        parser.add_argument("--format", default="pt2", help=f"one of: {', '.join(EXPORT_FORMATS)} ({formats})")
        parser.add_argument(
            "--out",
            help="the file to write (default: model.pt2, .onnx or .pt in the run's folder; for imagenet, "
            "exports/imagenet.onnx and the like in the home). `classify` answers from the .onnx in that default "
            "place with onnxruntime, without importing torch",
        )
    elif command == "bundle":
        parser.add_argument("run_id", help="a run id (see `runs`)")
        parser.add_argument("--out", help="the .zip to write (default: lightbox-run-RUN_ID.zip here)")
    elif command == "restore":
        parser.add_argument("path", help="a bundle made by `bundle` or the dashboard's 'Run bundle' button")
    elif command == "quantize":
        parser.add_argument("run_id", help="a run id (see `runs`), or `imagenet` for the built-in model")


def _export(args: argparse.Namespace, store: RunStore) -> int:
    out = Path(args.out) if args.out else None
    if args.run_id in PRETRAINED:
        path = export_pretrained(args.run_id, args.format, out, store.home)
    else:
        path = export_run(store, args.run_id, args.format, out)
    print(f"format: {args.format}")
    print(f"bytes: {path.stat().st_size}")
    print(f"saved: {path}")
    return 0


def _bundle(args: argparse.Namespace, store: RunStore) -> int:
    path = write_bundle(store, args.run_id, args.out or bundle_file_name(store.get_run(args.run_id)))
    print(f"bytes: {path.stat().st_size}")
    print(f"saved: {path}")
    return 0


def _restore(args: argparse.Namespace, store: RunStore) -> int:
    run = restore_bundle(store, args.path)
    print(f"name: {run.name}")
    print(f"status: {run.status}")
    print(f"epochs: {len(store.history(run.id))}")
    print(f"run_id: {run.id}")
    return 0


def _quantize(args: argparse.Namespace, store: RunStore) -> int:
    from core.progress import ProgressBar
    from core.quantize_runs import quantize_run

    if args.run_id != "imagenet":
        store.get_run(args.run_id)  # an unknown run is one line, before any progress bar
    bar = ProgressBar(100, "quantize")
    run = quantize_run(store, args.run_id, lambda stage, done: bar.update(int(done * 100), stage))
    bar.close()
    m = run.metrics
    fp32 = {} if args.run_id == "imagenet" else store.get_run(args.run_id).metrics
    print(f"int8_of: {m['int8_of']}")
    for key in ("size_mb", "latency_ms"):  # the original's beside, where it was measured
        print(f"{key}: {m[key]:.3f}")
        if key in fp32:
            print(f"fp32_{key}: {fp32[key]:.3f}")
    print(f"agreement: {m['agreement']:.4f}")
    print(f"agreement_images: {m['agreement_images']}")
    if "val_accuracy" in m:
        print(f"val_accuracy: {m['val_accuracy']:.4f}")
    print(f"run_id: {run.id}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the export, bundle, restore or quantize command; return the exit code."""
    commands = {"export": _export, "bundle": _bundle, "restore": _restore, "quantize": _quantize}
    store = RunStore(args.home)
    workspace = os.environ.get(WORKSPACE_ENV)  # set by a server that runs this command for a visitor
    return commands[args.command](args, store.scoped(workspace) if workspace else store)
