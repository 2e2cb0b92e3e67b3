"""A run bundle restores to an equal run; a damaged, unsafe or mismatched bundle is refused and leaves no trace."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from core import DataConfig, LightboxError, Predictor, RunStore, WeightsError, load_dataset
from core.bundle import MEMBERS, bundle_bytes, restore_bundle, write_bundle
from core.errors import BundleError, StoreError
from tests.helpers import trained_run


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rezip(files: dict[str, bytes], fix_hashes: bool = True) -> bytes:
    """Zip the files again; with fix_hashes, the manifest vouches for the changed files (a crafted bundle)."""
    files = dict(files)
    if fix_hashes:
        manifest = json.loads(files["manifest.json"])
        manifest["files"] = {n: hashlib.sha256(d).hexdigest() for n, d in files.items() if n != "manifest.json"}
        files["manifest.json"] = json.dumps(manifest).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def snapshot(store: RunStore) -> tuple[list[str], list[str]]:
    """Everything a restore could leave behind: run rows and files under the runs folder."""
    files = sorted(str(p.relative_to(store.home)) for p in (store.home / "runs").rglob("*"))
    return [r.id for r in store.list_runs()], files


def bundle_of(home: Path, model: str) -> tuple[RunStore, str, bytes]:
    """Train a two-epoch run in another home; return that store, the run id and its bundle."""
    origin = RunStore(home)
    run = trained_run(origin, model, epochs=2)
    return origin, run.id, bundle_bytes(origin, run.id)


@pytest.fixture
def bundled(tmp_path: Path) -> tuple[RunStore, str, bytes]:
    """A fully connected run (it trains in a blink) from another home, and its bundle."""
    return bundle_of(tmp_path / "elsewhere", "simple")


def test_round_trip_gives_an_equal_run_and_identical_predictions(store: RunStore, tmp_path: Path) -> None:
    origin, run_id, data = bundle_of(tmp_path / "elsewhere", "cnn")  # convolutions and batch-norm buffers
    assert sorted(unzip(data)) == sorted(MEMBERS)
    restored = restore_bundle(store, data)
    before = origin.get_run(run_id)
    assert restored.id == run_id  # the id was free here, so it is kept
    assert (restored.config, restored.metrics, restored.status) == (before.config, before.metrics, "finished")
    assert restored.name == before.name + " (restored)"  # told apart from the original in every dropdown
    assert (restored.created, restored.input_spec) == (before.created, before.input_spec)
    assert store.history(restored.id) == origin.history(run_id) and len(store.history(restored.id)) == 2
    _, val = load_dataset(DataConfig()).split(0.2, seed=0)
    for i in range(3):
        image = val.to_pil(i)
        original = Predictor.from_run(origin, run_id).probabilities(image)
        assert np.array_equal(Predictor.from_run(store, restored.id).probabilities(image), original)


def test_restoring_twice_gives_two_runs(store: RunStore, bundled, tmp_path: Path) -> None:
    _, run_id, data = bundled
    path = tmp_path / "run.zip"
    path.write_bytes(data)
    first, second = restore_bundle(store, data), restore_bundle(store, path)
    assert first.id == run_id and second.id != run_id
    assert {r.id for r in store.list_runs()} == {first.id, second.id}
    assert store.history(second.id) == store.history(first.id)
    assert store.load_weights(second.id)[1]["run_id"] == second.id


def test_write_bundle_to_a_file(bundled, tmp_path: Path) -> None:
    origin, run_id, _ = bundled
    path = write_bundle(origin, run_id, tmp_path / "keep.zip")
    assert sorted(unzip(path.read_bytes())) == sorted(MEMBERS)
    with pytest.raises(BundleError, match="does not exist"):
        write_bundle(origin, run_id, tmp_path / "nowhere" / "keep.zip")


class Payload:
    """A pickle that runs a shell command when it is loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_with_code_is_refused_and_never_runs(store: RunStore, bundled, tmp_path: Path) -> None:
    _, _, data = bundled
    marker = tmp_path / "pwned"
    weights = io.BytesIO()
    torch.save({"state_dict": Payload(marker), "meta": {}}, weights)
    with pytest.raises(WeightsError, match="program code"):
        restore_bundle(store, rezip({**unzip(data), "weights.pt": weights.getvalue()}))
    assert not marker.exists()
    assert snapshot(store) == ([], [])


def test_a_tensor_of_the_wrong_shape_is_named(store: RunStore, bundled) -> None:
    _, _, data = bundled
    files = unzip(data)
    payload = torch.load(io.BytesIO(files["weights.pt"]), weights_only=True)
    payload["state_dict"]["net.layers.5.weight"] = torch.zeros(3, 50)
    buf = io.BytesIO()
    torch.save(payload, buf)
    with pytest.raises(WeightsError, match=r"tensor 'net\.layers\.5\.weight' has shape \(3, 50\).*\(10, 50\)"):
        restore_bundle(store, rezip({**files, "weights.pt": buf.getvalue()}))
    assert snapshot(store) == ([], [])


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/cron.d/x", "runs/../../x.pt"])
def test_member_names_that_leave_the_bundle_are_refused(store: RunStore, bundled, name: str) -> None:
    _, _, data = bundled
    with pytest.raises(BundleError, match="points outside the bundle"):
        restore_bundle(store, rezip({**unzip(data), name: b"x"}, fix_hashes=False))
    assert snapshot(store) == ([], [])


def test_damaged_or_foreign_files_are_one_sentence(store: RunStore, bundled) -> None:
    _, _, data = bundled
    files = unzip(data)
    middle = len(data) // 2
    cases = {
        "damaged or not a .zip": [b"not a zip at all", data[:middle], data[:middle] + b"\0" * 64 + data[middle + 64 :]],
        "changed or damaged": [rezip({**files, "metrics.json": b'{"val_accuracy": 1.0}'}, fix_hashes=False)],
        "unexpected file": [rezip({**files, "notes.txt": b"hi"})],
        "lacks history.json": [rezip({k: v for k, v in files.items() if k != "history.json"})],
        "not readable JSON": [rezip({**files, "config.json": b"{oops"})],
        "does not know": [rezip({**files, "config.json": json.dumps({"model": {"name": "vgg99"}}).encode()})],
        "newer Lightbox": [
            rezip(
                {**files, "manifest.json": json.dumps({"format": "lightbox-run-bundle", "format_version": 9}).encode()}
            )
        ],
    }
    for message, bundles in cases.items():
        for bad in bundles:
            with pytest.raises(LightboxError, match=message) as refused:
                restore_bundle(store, bad)
            assert "zip file" not in str(refused.value)  # zipfile's own words ("File is not a zip file") stay out
    assert snapshot(store) == ([], [])


def test_absurd_input_sizes_are_refused_before_a_model_is_built(store: RunStore, bundled) -> None:
    _, _, data = bundled
    files = unzip(data)
    spec = {**json.loads(files["input_spec.json"]), "height": 10**6, "width": 10**6}
    with pytest.raises(BundleError, match="cannot build a model"):
        restore_bundle(store, rezip({**files, "input_spec.json": json.dumps(spec).encode()}))


def test_a_bundle_of_a_run_still_training_restores_as_interrupted(store: RunStore, bundled) -> None:
    _, _, data = bundled
    files = unzip(data)
    run = {**json.loads(files["run.json"]), "status": "running"}
    restored = restore_bundle(store, rezip({**files, "run.json": json.dumps(run).encode()}))
    assert restored.status == "interrupted"  # no process here will ever finish it


def test_a_failed_write_leaves_nothing_behind(store: RunStore, bundled, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.runs

    def disk_full(path: Path, write: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(core.runs, "atomic_write_bytes", disk_full)  # the store writes the restored weights
    with pytest.raises(StoreError, match="could not be written"):
        restore_bundle(store, bundled[2])
    assert snapshot(store) == ([], [])


def test_a_crafted_manifest_or_input_size_is_a_sentence(store: RunStore, bundled) -> None:
    _, _, data = bundled
    files = unzip(data)
    manifest = {**json.loads(files["manifest.json"]), "files": ["not", "a", "dict"]}
    with pytest.raises(BundleError, match="changed or damaged"):
        restore_bundle(store, rezip({**files, "manifest.json": json.dumps(manifest).encode()}, fix_hashes=False))
    for resize in (0, "big"):  # Predictor divides by the resize side: either would break every prediction
        spec = {**json.loads(files["input_spec.json"]), "extra": {"resize": resize}}
        with pytest.raises(BundleError, match="cannot build a model"):
            restore_bundle(store, rezip({**files, "input_spec.json": json.dumps(spec).encode()}))
    assert snapshot(store) == ([], [])
