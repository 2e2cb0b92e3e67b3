"""Dataset files a test writes: an ImageFolder tree and its zip, MNIST idx files, CIFAR pickle batches."""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.standard import datasets_root

COLOURS = {"blue": (30, 60, 220), "green": (40, 200, 60), "red": (220, 40, 40)}


def make_tree(root: Path, classes: dict[str, tuple[int, int, int]] = COLOURS, per_class: int = 30) -> Path:
    """Write an ImageFolder tree of small noisy single-colour PNGs, plus one file that is not an image."""
    rng = np.random.default_rng(0)
    for name, colour in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            noise = rng.integers(-40, 40, size=(12, 12, 3))
            pixels = np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    (root / next(iter(classes)) / "notes.txt").write_text("not a picture")
    return root


def zip_tree(root: Path) -> bytes:
    """Return a .zip of the tree, wrapped in one top-level folder as zipping a folder does."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(root.rglob("*")):
            zf.write(path, Path(root.name) / path.relative_to(root))
    return buf.getvalue()


OVERLAPPING = {"amber": (200, 140, 40), "khaki": (175, 165, 90), "ochre": (185, 150, 55), "olive": (160, 160, 60)}


def make_mixed_tree(root: Path, per_class: int = 60) -> Path:
    """Write a class-folder tree inside one wrapping folder whose classes overlap (no model scores 100%),
    in the formats an import meets: PNG, large JPEG, JPEG turned by EXIF, RGBA PNG and GIF; plus clutter
    that is left out: a hidden file, macOS's __MACOSX folder, a damaged JPEG and an empty class folder."""
    rng = np.random.default_rng(0)
    top = root / "photos"
    for name, colour in OVERLAPPING.items():
        (top / name).mkdir(parents=True)
        for i in range(per_class):
            shade = np.array(colour) + rng.integers(-30, 30, size=3)  # each picture's own shade: classes overlap
            pixels = np.clip(shade + rng.integers(-40, 40, size=(24, 32, 3)), 0, 255).astype(np.uint8)
            image, path = Image.fromarray(pixels), top / name / f"{i:03d}"
            if i % 5 == 0:
                image.save(path.with_suffix(".png"))
            elif i % 5 == 1:
                image.resize((320, 240)).save(path.with_suffix(".jpg"), quality=90)  # decoded at a reduced scale
            elif i % 5 == 2:
                exif = Image.Exif()
                exif[0x0112] = 6  # orientation: turn 90 degrees to stand upright
                image.save(path.with_suffix(".jpeg"), exif=exif)
            elif i % 5 == 3:
                image.putalpha(160)  # partly see-through: composited on white
                image.save(path.with_suffix(".png"))
            else:
                image.save(path.with_suffix(".gif"))
    (top / "amber" / ".hidden.png").write_bytes((top / "amber" / "000.png").read_bytes())
    (top / "__MACOSX" / "amber").mkdir(parents=True)
    (top / "__MACOSX" / "amber" / "._000.png").write_bytes(b"\x00\x05\x16\x07 resource fork")
    (top / "ochre" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a JPEG")
    (top / "empty").mkdir()
    return root


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the idx format of LeCun's MNIST files (magic 0x08 = ubyte, then big-endian dims)."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(folder: str = "MNIST", train: int = 30, test: int = 10) -> np.ndarray:
    """Write the four idx files under <root>/<folder>/raw/ and return the training images (N, 28, 28)."""
    raw = datasets_root() / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", train), ("t10k", test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[:, 0, 0] = labels  # a mark that ties each image to its label
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            (raw / f"{prefix}-{kind}-ubyte").write_bytes(idx_bytes(array))
        if prefix == "train":
            train_images = images
    return train_images


def write_cifar(folder: str = "cifar-10-batches-py", per_batch: int = 6, hundred: bool = False) -> np.ndarray:
    """Write CIFAR's pickled batches (protocol 2, as the originals) and return all training rows (N, 3072)."""
    root = datasets_root() / folder
    root.mkdir(parents=True)
    rng = np.random.default_rng(1)
    label_key = "fine_labels" if hundred else "labels"
    names = ["train"] if hundred else [f"data_batch_{i}" for i in range(1, 6)]
    rows = []
    for name in [*names, "test"] if hundred else [*names, "test_batch"]:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = [i % (100 if hundred else 10) for i in range(per_batch)]
        with open(root / name, "wb") as f:
            pickle.dump({"data": data, label_key: labels, "batch_label": name}, f, protocol=2)
        if name not in ("test", "test_batch"):
            rows.append(data)
    classes = [f"thing{i}" for i in range(100)] if hundred else ["airplane", "automobile", "bird", "cat", "deer"]
    classes += [] if hundred else ["dog", "frog", "horse", "ship", "truck"]
    meta = {"fine_label_names": classes} if hundred else {"label_names": classes, "num_vis": 3072}
    with open(root / ("meta" if hundred else "batches.meta"), "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return np.concatenate(rows)
