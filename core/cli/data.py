"""The `datasets`, `download` and `import-dataset` commands: list, fetch and keep datasets."""

from __future__ import annotations

import argparse
import sys
import time

from core.cli import number
from core.data.registry import DATASETS, check_free_name, import_dataset
from core.data.standard import STANDARD, download_dataset
from core.data.user import list_user_datasets
from core.progress import ProgressBar


def configure(command: str, parser: argparse.ArgumentParser) -> None:
    """Add the options of `command` to its parser."""
    if command == "download":
        parser.add_argument("name", help=f"one of: {', '.join(STANDARD)}")
    elif command == "import-dataset":
        parser.add_argument("name", help="a name for the dataset, e.g. my-pets")
        parser.add_argument("path", help="a folder with one sub-folder of images per class, or a .zip of such folders")
        parser.add_argument(
            "--image-size", type=number(int, 1), default=64, help="pixels per side every image is scaled to"
        )
        parser.add_argument(
            "--replace", action="store_true",
            help="replace a dataset of that name (runs trained on it keep their numbers, not its images)",
        )  # fmt: skip


def _datasets(args: argparse.Namespace) -> int:
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
    if not args.replace:
        check_free_name(args.name)  # said before the progress bar
    bar = ProgressBar(100, "import")
    dataset = import_dataset(
        args.name,
        args.path,
        image_size=args.image_size,
        progress=lambda done, total: bar.update(done * 100 // max(total, 1), f"{done}/{total} images"),
        replace=args.replace,
    )
    bar.close()
    for note in dataset.skipped:
        print(f"skipped {note}", file=sys.stderr)
    print(f"name: {dataset.name}")
    print(f"images: {len(dataset)}")
    print(f"classes: {len(dataset.classes)}")
    print(f"skipped: {len(dataset.skipped)}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the datasets, download or import-dataset command; return the exit code."""
    return {"datasets": _datasets, "download": _download, "import-dataset": _import_dataset}[args.command](args)
