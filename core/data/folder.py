"""Import a user's own images: an ImageFolder tree (one sub-folder per class) on disk or in a .zip."""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import torch

from core.data.base import ImageDataset
from core.data.images import DEFAULT_MAX_PIXELS, ImageSource, is_image_name, load_tensor
from core.errors import DatasetError, ImageError

__all__: list[str] = []  # nothing here is part of core's public API

LAYOUT_HELP = (
    "Put one folder per class, each holding that class's images, e.g. cats/1.jpg, cats/2.jpg, "
    "dogs/1.jpg (the folders may sit inside one top-level folder), then zip or choose that folder."
)
_IGNORED_NAMES = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportLimits:
    """Bounds that keep an uploaded folder or zip from exhausting memory, disk or time."""

    max_files: int = 20_000  # images; a teaching set rarely needs more
    max_members: int = 100_000  # zip entries of any kind, folders and junk included
    max_total_bytes: int = 1 << 30  # declared uncompressed size of the whole zip
    max_file_bytes: int = 64 << 20  # one image file
    max_ratio: float = 100.0  # uncompressed / compressed; images barely compress, bombs do
    ratio_floor_bytes: int = 64 << 20  # small zips may compress well (plain BMPs) without harm
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_tensor_bytes: int = 4 << 30  # the stacked uint8 image tensor
    tensor_room: str = "in memory"  # what max_tensor_bytes stands for, in the sentence that refuses more


DEFAULT_LIMITS = ImportLimits()


@dataclass(frozen=True)
class _Entry:
    """One file or folder of the tree, by its path parts, with a way to read its contents."""

    parts: tuple[str, ...]
    is_dir: bool = False
    read: Callable[[], ImageSource] | None = None

    @property
    def path(self) -> str:
        return "/".join(self.parts)


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n < 10e6 else f"{n / 1e6:,.0f} MB"


def load_image_folder(
    source: str | os.PathLike | bytes | BinaryIO,
    *,
    image_size: int = 64,
    name: str | None = None,
    progress: Progress | None = None,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> ImageDataset:
    """Load an ImageFolder tree (a directory, or a .zip as path, bytes or file) into an RGB dataset."""
    if not 4 <= image_size <= 1024:
        raise DatasetError(f"The image size must be between 4 and 1024 pixels, not {image_size}.")
    default_name, origin = _describe(source)
    with _list_entries(source, limits) as (entries, notes):
        classes, files, group_notes = _group_by_class(entries, limits)
        need = len(files) * 3 * image_size * image_size
        if need > limits.max_tensor_bytes:
            raise DatasetError(
                f"{len(files):,} images at {image_size} x {image_size} pixels take {_mb(need)}, more than fits "
                f"{limits.tensor_room} ({_mb(max(0, limits.max_tensor_bytes))}). Choose a smaller image size or use "
                "fewer images."
            )
        images, labels, decode_notes = _decode_all(files, image_size, limits, progress)
    classes, labels, drop_notes = _drop_empty_classes(classes, labels)
    if len(classes) < 2:
        raise DatasetError(
            f"Lightbox needs at least 2 classes with usable images, and found {len(classes)}. " + LAYOUT_HELP
        )
    keep = torch.nonzero(labels >= 0).flatten()
    return ImageDataset(
        name=name or default_name,
        images=images[keep],
        labels=labels[keep],
        classes=classes,
        description=f"{len(keep):,} of your own images in {len(classes)} classes.",
        source=origin,
        skipped=tuple(notes + group_notes + decode_notes + drop_notes),
    )


def _describe(source: str | os.PathLike | bytes | BinaryIO) -> tuple[str, str]:
    """Return a default dataset name and the `source` text to record."""
    if isinstance(source, (str, os.PathLike)):
        path = os.path.abspath(os.fspath(source))
        return os.path.splitext(os.path.basename(path.rstrip(os.sep)))[0] or "my-images", path
    upload_name = getattr(source, "name", None)
    if isinstance(upload_name, str) and upload_name:
        return os.path.splitext(os.path.basename(upload_name))[0] or "upload", "upload"
    return "upload", "upload"


@contextmanager
def _list_entries(
    source: str | os.PathLike | bytes | BinaryIO, limits: ImportLimits
) -> Iterator[tuple[list[_Entry], list[str]]]:
    """Yield the entries of a directory or zip (kept open while yielded) and notes on ignored ones."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if os.path.isdir(path):
            yield _walk_directory(path, limits), []
            return
        if not os.path.isfile(path):
            raise DatasetError(f"'{path}' does not exist. Check the path and try again.")
        source = path
    elif isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    elif not source.seekable():
        source = io.BytesIO(source.read())
    zf = _open_zip(source)
    try:
        yield _zip_entries(zf, limits)
    finally:
        zf.close()


def _open_zip(source: str | BinaryIO) -> zipfile.ZipFile:
    """Open a zip archive for reading, or explain why it is not one."""
    what = f"'{os.path.basename(source)}'" if isinstance(source, str) else "The uploaded file"
    try:
        return zipfile.ZipFile(source)
    except UnicodeDecodeError as exc:  # the UTF-8 flag is set on names that are not UTF-8
        raise DatasetError(f"{what} has garbled file names. Create the zip again and retry.") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        kind = "neither a folder nor a readable .zip file" if isinstance(source, str) else "not a readable .zip file"
        raise DatasetError(f"{what} is {kind}. {LAYOUT_HELP}") from exc
    except OSError as exc:
        raise DatasetError(f"{what} cannot be read ({exc}). Check the file and try again.") from exc


def _walk_directory(root: str, limits: ImportLimits) -> list[_Entry]:
    """List the files and folders under root, skipping hidden ones, without following links."""
    entries: list[_Entry] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        base = () if rel == "." else tuple(rel.split(os.sep))
        dirnames[:] = sorted(d for d in dirnames if not _is_ignored(d))
        entries += [_Entry((*base, d), is_dir=True) for d in dirnames]
        for fname in filenames:
            if _is_ignored(fname):
                continue
            full = os.path.join(dirpath, fname)
            entries.append(_Entry((*base, fname), read=lambda full=full: _read_file(full, limits)))
            if len(entries) > limits.max_members:
                raise DatasetError(f"The folder holds more than {limits.max_members:,} files. Choose a smaller folder.")
    return entries


def _read_file(path: str, limits: ImportLimits) -> str:
    """Return the path of a file on disk once its size is checked."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:  # a broken link or a file removed while importing
        raise ImageError(f"the file cannot be read ({exc.strerror or exc})") from exc
    if size > limits.max_file_bytes:
        raise ImageError(f"the file is {size / 2**20:.0f} MiB, more than {limits.max_file_bytes >> 20} MiB")
    return path


def _zip_entries(zf: zipfile.ZipFile, limits: ImportLimits) -> tuple[list[_Entry], list[str]]:
    """Check a zip's declared sizes before decompressing anything, and list its safe members."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise DatasetError(f"The zip holds {len(infos):,} entries, more than {limits.max_members:,}.")
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > limits.max_total_bytes:
        raise DatasetError(
            f"The zip would unpack to {total / 2**20:,.0f} MiB, more than the "
            f"{limits.max_total_bytes / 2**20:,.0f} MiB Lightbox accepts. Zip fewer or smaller images."
        )
    if total > limits.ratio_floor_bytes and total > packed * limits.max_ratio:
        raise DatasetError(
            f"The zip unpacks to {total / packed:,.0f} times its size, which images never do; "
            "it looks like a zip bomb and was refused. Zip your image files directly."
        )
    entries, notes = [], []
    for info in infos:
        parts = _safe_parts(info.filename)
        if parts is None:
            notes.append(f"{info.filename}: a path outside the zip's own folder, ignored")
        elif parts and not any(_is_ignored(p) for p in parts):
            read = None if info.is_dir() else (lambda info=info: _read_member(zf, info, limits))
            entries.append(_Entry(parts, is_dir=info.is_dir(), read=read))
    return entries, notes


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """Split a zip member name into parts, or None for an absolute or parent-escaping path."""
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return None
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    return None if ".." in parts else parts


def _is_ignored(part: str) -> bool:
    """Return whether a path part is hidden or operating-system clutter."""
    return part.startswith(".") or part in _IGNORED_NAMES


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ImportLimits) -> bytes:
    """Read one zip member into memory, bounded by its checked size."""
    if info.flag_bits & 0x1:
        raise ImageError("it is password-protected; zip it again without a password")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ImageError("it uses an unusual compression method; zip it again with standard settings")
    if info.file_size > limits.max_file_bytes:
        raise ImageError(f"the file is {info.file_size / 2**20:.0f} MiB, more than {limits.max_file_bytes >> 20} MiB")
    try:
        with zf.open(info) as member:  # zipfile stops at the declared size and checks the CRC
            return member.read(limits.max_file_bytes + 1)
    except _READ_ERRORS as exc:
        raise ImageError(f"it is damaged inside the zip ({exc})") from exc


def _strip_top_folders(entries: list[_Entry]) -> list[_Entry]:
    """Drop top-level folders that wrap the whole class tree, e.g. my-pets/cats/1.jpg."""
    while True:
        images = [e for e in entries if not e.is_dir and is_image_name(e.parts[-1])]
        tops = {e.parts[0] for e in images}
        if len(tops) != 1 or any(len(e.parts) < 3 for e in images):
            return entries
        top = tops.pop()
        entries = [_Entry(e.parts[1:], e.is_dir, e.read) for e in entries if e.parts[0] == top and len(e.parts) > 1]


def _group_by_class(
    entries: list[_Entry], limits: ImportLimits
) -> tuple[tuple[str, ...], list[tuple[_Entry, int]], list[str]]:
    """Return the sorted class folders, the image files with their labels, and notes on the rest."""
    entries = _strip_top_folders(entries)
    notes: list[str] = []
    folders = sorted({e.parts[0] for e in entries if e.is_dir or len(e.parts) > 1})
    if not folders:
        raise DatasetError(f"No class folders found. {LAYOUT_HELP}")
    index = {c: i for i, c in enumerate(folders)}
    files: list[tuple[_Entry, int]] = []
    for e in sorted((e for e in entries if not e.is_dir), key=lambda e: e.parts):
        if len(e.parts) < 2:
            notes.append(f"{e.path}: not inside a class folder, ignored")
        elif not is_image_name(e.parts[-1]):
            notes.append(f"{e.path}: not an image file, ignored")
        else:
            files.append((e, index[e.parts[0]]))
    if len(files) > limits.max_files:
        raise DatasetError(
            f"Found {len(files):,} images; Lightbox imports up to {limits.max_files:,}. Use fewer per class."
        )
    return tuple(folders), files, notes


def _load_one(entry: _Entry, image_size: int, limits: ImportLimits) -> torch.Tensor | str:
    """Return one file as a (3, S, S) uint8 tensor, or the reason it cannot be used."""
    if entry.read is None:
        return "not a file"
    try:
        return load_tensor(entry.read(), image_size, 3, max_pixels=limits.max_pixels)
    except ImageError as exc:
        return str(exc)


def _decode_all(
    files: list[tuple[_Entry, int]], image_size: int, limits: ImportLimits, progress: Progress | None
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Decode every file once (a few threads; PIL releases the GIL) into one stacked tensor."""
    images = torch.zeros((len(files), 3, image_size, image_size), dtype=torch.uint8)  # (N, 3, S, S)
    labels = torch.full((len(files),), -1, dtype=torch.int64)  # -1 marks a skipped file
    notes: list[str] = []
    pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1))
    try:
        results = pool.map(lambda item: _load_one(item[0], image_size, limits), files)
        for i, ((entry, label), result) in enumerate(zip(files, results, strict=True)):
            if isinstance(result, str):
                notes.append(f"{entry.path}: {result}")
            else:
                images[i], labels[i] = result, label
            if progress is not None:
                progress(i + 1, len(files))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return images, labels, notes


def _drop_empty_classes(
    classes: tuple[str, ...], labels: torch.Tensor
) -> tuple[tuple[str, ...], torch.Tensor, list[str]]:
    """Remove classes left with no usable image and renumber the labels to stay contiguous."""
    counts = torch.bincount(labels[labels >= 0], minlength=len(classes)).tolist()
    kept = [c for c, n in zip(classes, counts, strict=True) if n > 0]
    notes = [f"{c}/: no usable images, class left out" for c, n in zip(classes, counts, strict=True) if n == 0]
    remap = torch.full((len(classes) + 1,), -1, dtype=torch.int64)  # the extra slot maps label -1 to -1
    for new, c in enumerate(kept):
        remap[classes.index(c)] = new
    return tuple(kept), remap[labels], notes
