"""The Train page's 'Keep or ship a run' section: restore a bundle, refuse a bad one, prepare downloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import RunStore
from core.bundle import bundle_bytes
from tests.helpers.pages import button, open_page
from tests.helpers.runs import RunLibrary


def test_restore_a_bundle_on_an_empty_train_page(run_library: RunLibrary, tmp_path: Path, lightbox_home: Path) -> None:
    (run,) = run_library.copy_into("simple", tmp_path / "elsewhere")  # a simple net trained for 2 epochs
    name, data = run.name, bundle_bytes(RunStore(tmp_path / "elsewhere"), run.id)
    at = open_page("train")
    assert "No runs yet" in at.info[0].value  # the restore section is there even with no runs
    at.file_uploader(key="restore_upload").set_value(("kept.zip", data, "application/zip")).run()
    button(at, "Restore this run").click().run()
    assert not at.exception and not at.error
    (restored,) = RunStore(lightbox_home).list_runs()
    assert f"Restored '{name}' (2 epochs, finished)" in at.success[0].value
    assert restored.id in at.success[0].value
    assert at.selectbox(key="ship_run").value == restored.id  # listed, ready to download again
    assert len(at.dataframe[0].value) == 1


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


@pytest.mark.slow
def test_prepare_downloads_offers_three_files_with_their_sizes(copy_runs) -> None:
    copy_runs("simple")
    at = open_page("train")
    assert not at.get("download_button")  # nothing is exported until asked for
    button(at, "Prepare downloads").click().run()
    assert not at.exception and not at.error
    labels = [b.proto.label for b in at.get("download_button")]
    assert [label.split(" · ")[0] for label in labels] == ["TorchScript", "ONNX", "Run bundle"]
    assert all(label.split(" · ")[1].endswith(("KB", "MB")) for label in labels)
