"""Importing a user's ImageFolder tree from a directory or a .zip, including hostile zips."""

from __future__ import annotations

import io
import os
import struct
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from core.data.folder import ImportLimits, load_image_folder
from core.errors import DatasetError
from tests.helpers.images import encode

COLOURS = {"cats": (255, 0, 0), "dogs": (0, 0, 255), "owls": (0, 255, 0)}
COUNTS = {"cats": 3, "dogs": 2, "owls": 1}  # a one-image class is allowed


def tree_files() -> dict[str, bytes]:
    """Return relative path -> contents of a small ImageFolder tree with some junk and one bad file."""
    files: dict[str, bytes] = {}
    for cls, n in COUNTS.items():
        for i in range(n):
            fmt, ext = ("PNG", "png") if i % 2 == 0 else ("JPEG", "jpg")
            size = (40 + 10 * i, 30)  # mixed sizes and aspect ratios
            files[f"{cls}/{i}.{ext}"] = encode(Image.new("RGB", size, COLOURS[cls]), fmt)
    files["dogs/broken.jpg"] = b"this is not a picture\n"
    files["dogs/notes.txt"] = b"text next to the images\n"
    files["cats/.hidden.png"] = b"hidden files are ignored"
    files[".DS_Store"] = b"\0\0\0\1Bud1"
    files["README.md"] = b"# my pets\n"
    return files


def write_tree(root, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def zip_bytes(files: dict[str, bytes], prefix: str = "", compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for rel, data in files.items():
            zf.writestr(zipfile.ZipInfo(prefix + rel), data, compress_type=compression)
    return buf.getvalue()


def check_tree_dataset(ds, size: int) -> None:
    """Assert a dataset is the tree from tree_files(): classes, counts, sizes, colours, notes."""
    assert ds.classes == ("cats", "dogs", "owls")
    assert ds.class_counts() == [3, 2, 1]
    assert ds.images.shape == (6, 3, size, size) and ds.images.dtype == torch.uint8
    for label, cls in enumerate(ds.classes):
        mean = ds.images[ds.labels == label].float().mean(dim=(0, 2, 3))
        assert (mean - torch.tensor(COLOURS[cls], dtype=torch.float)).abs().max() < 8, cls
    assert any(s.startswith("dogs/broken.jpg: ") and "not an image" in s for s in ds.skipped)
    assert any(s.startswith("dogs/notes.txt: ") for s in ds.skipped)
    assert not any("hidden" in s or "DS_Store" in s or "MACOSX" in s for s in ds.skipped)


def test_directory_round_trip(tmp_path):
    write_tree(tmp_path / "pets", tree_files())
    calls: list[tuple[int, int]] = []
    ds = load_image_folder(tmp_path / "pets", image_size=16, progress=lambda d, t: calls.append((d, t)))
    check_tree_dataset(ds, 16)
    assert ds.name == "pets" and ds.source == str(tmp_path / "pets")
    assert calls == [(i, 7) for i in range(1, 8)]  # 6 good images + the broken one


def test_directory_inside_one_top_folder(tmp_path):
    write_tree(tmp_path / "outer" / "inner", {k: v for k, v in tree_files().items() if "/" in k})
    ds = load_image_folder(str(tmp_path / "outer"), image_size=8)
    check_tree_dataset(ds, 8)


@pytest.mark.parametrize("as_", ["bytes", "path", "file"])
def test_zip_round_trip(tmp_path, as_):
    files = tree_files()
    files["__MACOSX/cats/._0.png"] = b"\0\5\26\7resource fork"
    data = zip_bytes(files, prefix="my-pets/")
    path = tmp_path / "my-pets.zip"
    path.write_bytes(data)
    source = {"bytes": data, "path": path, "file": io.BytesIO(data)}[as_]
    ds = load_image_folder(source, image_size=12, name="pets" if as_ == "file" else None)
    check_tree_dataset(ds, 12)
    assert ds.source == (str(path) if as_ == "path" else "upload")
    assert ds.name == {"bytes": "upload", "path": "my-pets", "file": "pets"}[as_]


def test_zip_with_escaping_paths_writes_nothing_and_loads_nothing(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    evil = encode(Image.new("RGB", (8, 8), (9, 9, 9)), "PNG")
    files = {k: v for k, v in tree_files().items() if "/" in k}
    files.update({"../evil.png": evil, "/abs.png": evil, "cats/../../evil2.png": evil, "C:/win.png": evil})
    data = zip_bytes(files)
    assert {"../evil.png", "/abs.png"} <= set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    before = sorted(p for p in tmp_path.rglob("*"))
    ds = load_image_folder(data, image_size=8)
    check_tree_dataset(ds, 8)  # exactly the six real images: no evil pixels
    assert sorted(tmp_path.rglob("*")) == before
    assert not os.path.exists("/abs.png") and not (tmp_path / "evil.png").exists()
    notes = [s for s in ds.skipped if "outside" in s]
    assert len(notes) == 4 and any(s.startswith("../evil.png") for s in notes)


def test_zip_without_class_folders_explains_layout():
    loose = {f"{i}.png": encode(Image.new("RGB", (8, 8)), "PNG") for i in range(3)}
    with pytest.raises(DatasetError, match=r"No class folders.*one folder per class"):
        load_image_folder(zip_bytes(loose))


def test_single_class_is_refused(tmp_path):
    write_tree(tmp_path, {"cats/a.png": encode(Image.new("RGB", (8, 8)), "PNG")})
    with pytest.raises(DatasetError, match=r"at least 2 classes.*found 1"):
        load_image_folder(tmp_path)


def test_class_without_usable_images_is_dropped_with_a_note():
    files = {k: v for k, v in tree_files().items() if "/" in k}
    files["birds/bad.png"] = b"\x89PNG\r\n\x1a\n broken"
    files["empty/"] = b""
    ds = load_image_folder(zip_bytes(files), image_size=8)
    check_tree_dataset(ds, 8)
    assert "birds/: no usable images, class left out" in ds.skipped
    assert "empty/: no usable images, class left out" in ds.skipped
    assert any(s.startswith("birds/bad.png: ") for s in ds.skipped)


def test_zip_bomb_refused_before_decompressing(monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cats/a.png", encode(Image.new("RGB", (8, 8)), "PNG"))
        with zf.open("dogs/zeros.png", "w") as member:
            for _ in range(80):  # 80 MiB of zeros, about 80 KiB packed
                member.write(bytes(1 << 20))
    data = buf.getvalue()
    assert len(data) < 1 << 20

    def no_reading(*args, **kwargs):
        raise AssertionError("a member was decompressed")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_reading)
    with pytest.raises(DatasetError, match="zip bomb"):
        load_image_folder(data)  # default limits: a ratio of about 1000 over 64 MiB
    with pytest.raises(DatasetError, match="would unpack to 80 MiB"):
        load_image_folder(data, limits=ImportLimits(max_total_bytes=50 << 20))


def test_file_count_and_member_size_limits():
    files = {k: v for k, v in tree_files().items() if "/" in k}
    with pytest.raises(DatasetError, match="imports up to 4"):
        load_image_folder(zip_bytes(files), limits=ImportLimits(max_files=4))
    with pytest.raises(DatasetError, match="entries"):
        load_image_folder(zip_bytes(files), limits=ImportLimits(max_members=5))
    big = encode(Image.new("RGB", (300, 300), (255, 0, 0)), "JPEG")
    files["cats/big.jpg"] = big
    ds = load_image_folder(zip_bytes(files), image_size=8, limits=ImportLimits(max_file_bytes=len(big) - 1))
    assert any(s.startswith("cats/big.jpg: the file is") for s in ds.skipped)
    assert ds.class_counts() == [3, 2, 1]


def patch_name(data: bytes, old: bytes, new: bytes, set_utf8_flag: bool = False) -> bytes:
    """Replace a member name in a zip's local and central headers (same length), optionally flag UTF-8."""
    assert len(old) == len(new)
    out = bytearray(data.replace(old, new))
    if set_utf8_flag:
        for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            pos = out.find(sig)
            while pos != -1:
                (flags,) = struct.unpack_from("<H", out, pos + flag_at)
                struct.pack_into("<H", out, pos + flag_at, flags | 0x800)
                pos = out.find(sig, pos + 4)
    return bytes(out)


def test_cp437_names_do_not_crash():
    files = {k: v for k, v in tree_files().items() if "/" in k and not k.startswith("owls")}
    files["cafX/1.png"] = encode(Image.new("RGB", (8, 8), (0, 255, 0)), "PNG")
    data = patch_name(zip_bytes(files), b"cafX/", b"caf\x82/")  # 0x82 is e-acute in cp437, bad UTF-8
    ds = load_image_folder(data, image_size=8)
    assert ds.classes == ("café", "cats", "dogs") and ds.class_counts() == [1, 3, 2]
    with pytest.raises(DatasetError, match="garbled file names"):
        load_image_folder(patch_name(zip_bytes(files), b"cafX/", b"caf\x82/", set_utf8_flag=True))


def test_not_a_zip_and_missing_path(tmp_path):
    with pytest.raises(DatasetError, match=r"^The uploaded file is not a readable .zip file"):  # bytes: an upload
        load_image_folder(b"PK but not really a zip file")
    (tmp_path / "x.png").write_bytes(encode(Image.new("RGB", (4, 4)), "PNG"))
    with pytest.raises(DatasetError, match=r"'x.png' is neither"):
        load_image_folder(tmp_path / "x.png")
    with pytest.raises(DatasetError, match="does not exist"):
        load_image_folder(tmp_path / "missing")


def test_image_size_is_validated(tmp_path):
    with pytest.raises(DatasetError, match="image size"):
        load_image_folder(tmp_path, image_size=0)


def test_dataset_pixels_match_a_direct_decode(tmp_path):
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8))
    files = {"a/x.png": encode(image, "PNG"), "b/y.png": encode(image.rotate(90), "PNG")}
    ds = load_image_folder(zip_bytes(files), image_size=20)
    expected = np.asarray(image)[:, 5:25]  # 30 wide -> centre 20 columns, no resize needed
    assert np.array_equal(ds.images[0].permute(1, 2, 0).numpy(), expected)
