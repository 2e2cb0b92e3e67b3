"""The Train page's 'Keep or ship a run' section: restore a bundle, refuse a bad one, prepare downloads."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from core import RunStore
from core.bundle import bundle_bytes
from dashboard.text import plain
from tests.helpers import wait_until
from tests.helpers.pages import button, open_page
from tests.helpers.runs import RunLibrary, trained_run


def test_restore_a_bundle_on_an_empty_train_page(run_library: RunLibrary, tmp_path: Path, lightbox_home: Path) -> None:
    (run,) = run_library.copy_into("simple", tmp_path / "elsewhere")  # a simple net trained for 2 epochs
    name, data = run.name, bundle_bytes(RunStore(tmp_path / "elsewhere"), run.id)
    at = open_page("train")
    assert "No runs yet" in at.info[0].value  # the restore section is there even with no runs
    at.file_uploader(key="restore_upload").set_value(("kept.zip", data, "application/zip")).run()
    button(at, "Restore this run").click().run()
    assert not at.exception and not at.error
    (restored,) = RunStore(lightbox_home).list_runs()
    assert f"Restored '{plain(name + ' (restored)')}' (2 epochs, finished)" in at.success[0].value
    assert restored.id in at.success[0].value
    assert at.selectbox(key="ship_run").value == restored.id  # listed, ready to download again
    assert len(at.dataframe[0].value) == 1


def test_the_newest_run_is_offered_for_download_and_a_choice_is_kept(
    run_library: RunLibrary, lightbox_home: Path
) -> None:
    (older,) = run_library.copy_into("simple", lightbox_home)
    at = open_page("train")
    assert at.selectbox(key="ship_run").value == older.id
    newer = trained_run(RunStore(lightbox_home), "simple", epochs=1)
    at.run()
    assert at.selectbox(key="ship_run").value == newer.id  # it stayed on the run listed before
    at.selectbox(key="ship_run").set_value(older.id).run()
    assert at.run().selectbox(key="ship_run").value == older.id  # the visitor's choice, until a newer run comes


def test_a_bad_bundle_is_one_sentence_and_changes_nothing(copy_runs, lightbox_home: Path) -> None:
    (kept,) = copy_runs("simple")
    store = RunStore(lightbox_home)
    at = open_page("train")
    at.file_uploader(key="restore_upload").set_value(("holiday.zip", b"PK\x03\x04 not really", "application/zip"))
    at.run()
    button(at, "Restore this run").click().run()
    assert not at.exception
    (error,) = at.error
    assert "not a Lightbox run bundle" in error.value and "Traceback" not in error.value
    assert [r.id for r in store.list_runs()] == [kept.id]
    assert sorted(p.name for p in (lightbox_home / "runs").iterdir()) == [kept.id]


def test_a_full_private_workspace_restores_nothing_more_and_says_why(
    run_library: RunLibrary, tmp_path: Path, lightbox_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (run,) = run_library.copy_into("simple", tmp_path / "elsewhere")
    data = bundle_bytes(RunStore(tmp_path / "elsewhere"), run.id)
    monkeypatch.setenv("LIGHTBOX_SHARING", "private")
    monkeypatch.setenv("LIGHTBOX_WORKSPACE_MB", "0.001")  # one restored run fills it
    at = open_page("train")
    at.file_uploader(key="restore_upload").set_value(("kept.zip", data, "application/zip")).run()
    button(at, "Restore this run").click().run()
    assert not at.exception and not at.error
    button(at, "Restore this run").click().run()
    assert not at.exception
    assert "the most one visitor may keep on this server" in at.error[0].value
    assert len([r for r in RunStore(lightbox_home).list_runs() if r.owner != "server"]) == 1


@pytest.mark.slow
def test_downloads_are_built_when_clicked_and_int8_and_code_are_offered(lightbox_home: Path, tmp_path: Path) -> None:
    import torch

    from dashboard.ship import download_data

    store = RunStore(lightbox_home)
    run = trained_run(store, "cnn", epochs=2)
    at = open_page("train")
    assert not at.exception and not at.error
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels[:4] == ["PyTorch .pt2", "ONNX", "TorchScript (old)", "Run bundle"]
    assert "Download the script" in labels  # the Code view
    assert any("def train_one_epoch(" in c.value for c in at.code)
    assert "ship_files" not in at.session_state  # no bytes kept in the session
    path = tmp_path / "model.pt2"
    with pytest.MonkeyPatch.context() as mp:  # the server writes no .pt2 itself: a child process does
        mp.setattr("core.export.export_run", lambda *a, **k: pytest.fail("exported in the server's process"))
        path.write_bytes(download_data(store, run.id, "pt2")())  # what the button's callable returns on a click
    assert torch.export.load(str(path)).module()(torch.rand(2, 1, 8, 8)).shape == (2, 10)

    button(at, "Make an int8 copy").click().run()
    assert not at.exception and not at.error
    int8 = next(r for r in store.list_runs() if r.config.model.quantization == "int8")
    assert int8.metrics["int8_of"] == run.id
    assert f"(run {int8.id})" in at.success[0].value and "validation images" in at.success[0].value
    assert re.search(r"ms per image \(fp32: [\d.]+, [\d.]+x (faster|slower)\)", at.success[0].value)  # said beside


def test_a_run_is_deleted_for_good_once_ticked_and_a_private_servers_own_runs_stay(
    run_library: RunLibrary, lightbox_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A private visitor's room is bounded (200 MB: four ResNet-18 runs), so their runs can be deleted."""
    (run,) = run_library.copy_into("simple", lightbox_home)
    at = open_page("train")
    assert at.button(key="ship_delete").disabled  # ticked first: one click loses nothing
    at.checkbox(key=f"ship_delete_{run.id}").check().run()
    at.button(key="ship_delete").click().run()
    assert not at.exception and RunStore(lightbox_home).list_runs() == []
    assert [t.value for t in at.toast] == [f"Deleted {plain(run.name)}."]  # not a silent vanishing
    assert not RunStore(lightbox_home).run_dir(run.id).exists()

    (built_in,) = run_library.copy_into("simple", lightbox_home)  # the server's, as the showcase runs are
    monkeypatch.setenv("LIGHTBOX_SHARING", "private")
    at = open_page("train")
    assert at.selectbox(key="ship_run").value == built_in.id
    assert not [b for b in at.button if b.key == "ship_delete"]  # the server's runs are everyone's
    # the showcase runs a private server trains at first start end here, not in the next test's home
    wait_until(lambda: not any(t.name.startswith("lightbox-train-") for t in threading.enumerate()), timeout=400)
