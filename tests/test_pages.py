"""Each page rendered headlessly through the real entrypoint with AppTest, on a temporary run store."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core import RunStore
from dashboard.nav import menu
from tests.helpers import wait_until
from tests.helpers.datasets import make_tree, zip_tree
from tests.helpers.images import digit_photo, encode
from tests.helpers.pages import button, open_page


def test_home_says_what_lightbox_is() -> None:
    at = open_page("home")
    assert at.title[0].value == "Lightbox"
    assert "neural network" in at.markdown[0].value
    cards = [link.proto.page for link in at.get("page_link")]
    assert cards == [p for p in menu() if p in cards] == ["data", "train", "compare", "classify", "teach", "attack"]


def test_data_page_shows_samples_balance_and_statistics() -> None:
    at = open_page("data")
    assert [m.value for m in at.metric][:2] == ["1,797", "10"]
    assert len(at.image) == 11  # one strip of samples per class, then the augmentation preview
    assert "augmented" in at.image[10].proto.imgs[0].caption
    at.segmented_control(key="data_augment").set_value("strong").run()
    assert not at.exception and len(at.image) == 11
    assert len(at.get("plotly_chart")) == 2
    assert len(at.dataframe[0].value) == 1  # one grey channel
    at.selectbox(key="data_dataset").set_value("shapes").run()
    assert not at.exception
    assert [m.value for m in at.metric][:4] == ["4,000", "5", "16 x 16 px", "3 (colour)"]
    assert len(at.dataframe[0].value) == 3


def test_train_page_starts_a_run_and_shows_it(lightbox_home: Path) -> None:
    at = open_page("train")
    assert "No runs yet" in at.info[0].value
    at.slider(key="train_epochs").set_value(2)
    at.text_input(key="train_name").set_value("page test")
    button(at, "Start training").click().run()
    assert not at.exception
    store = RunStore(lightbox_home)
    wait_until(lambda: store.list_runs() and store.list_runs()[0].status == "finished", 60)
    at.run()
    assert not at.exception
    assert any(s.value.startswith("Finished: 'page test' (run ") for s in at.success)  # named as people read it
    table = at.dataframe[0].value
    assert list(table["name"]) == ["page test"] and list(table["status"]) == ["finished"]
    assert table["val accuracy"][0] > 0.5


def test_compare_guides_a_new_user() -> None:
    at = open_page("compare")
    assert "No finished runs" in at.info[0].value


def test_classify_works_out_of_the_box_with_the_pretrained_model() -> None:
    data = pytest.importorskip("skimage.data")
    at = open_page("classify")
    assert at.selectbox(key="classify_run").value == "imagenet"
    photo = Image.fromarray(data.chelsea())
    at.file_uploader(key="classify_upload").set_value(("chelsea.jpg", encode(photo, "JPEG"), "image/jpeg")).run()
    assert not at.exception and not at.error
    assert at.metric[0].value in {"tabby", "tiger cat", "Egyptian cat"}
    assert any("ms to answer" in c.value for c in at.caption)


def test_classify_page_predicts_an_uploaded_photo(trained_cnn) -> None:
    at = open_page("classify")
    at.selectbox(key="classify_run").set_value(trained_cnn.id).run()
    photo, label = digit_photo(0)
    at.file_uploader(key="classify_upload").set_value(("digit.png", encode(photo), "image/png")).run()
    assert not at.exception and not at.error
    assert at.metric[0].value == label
    assert len(at.get("plotly_chart")) == 1


def test_classify_page_predicts_a_webcam_snapshot(trained_cnn) -> None:
    at = open_page("classify")
    at.selectbox(key="classify_run").set_value(trained_cnn.id).run()
    photo, label = digit_photo(1)
    at.camera_input(key="classify_camera").set_value(("snap.jpg", encode(photo, "JPEG"), "image/jpeg")).run()
    assert not at.exception and not at.error
    assert at.metric[0].value == label


def test_classify_page_explains_a_file_that_is_not_an_image(trained_cnn) -> None:
    at = open_page("classify")
    at.file_uploader(key="classify_upload").set_value(("cat.jpg", b"just some text", "image/jpeg")).run()
    assert not at.exception
    assert at.error and "image" in at.error[0].value.lower()


@pytest.mark.slow
def test_a_job_survives_leaving_the_page_and_stops_on_request(lightbox_home: Path) -> None:
    at = open_page("train")
    at.selectbox(key="train_model").set_value("resnet18")
    at.slider(key="train_epochs").set_value(50)
    button(at, "Start training").click().run()
    at.switch_page("../pages/data.py").run()
    at.switch_page("../pages/train.py").run()
    assert not at.exception
    assert "Current run" in [s.value for s in at.subheader]
    at = open_page("train", ws=at.query_params["ws"])  # the tab reloaded mid-run: a new session, the same workspace
    button(at, "Stop").click().run()
    store = RunStore(lightbox_home)
    wait_until(
        lambda: store.list_runs() and store.list_runs()[0].status == "stopped", 60, message="the job did not stop"
    )
    # the job's own status follows the store's
    wait_until(lambda: any("Stopped" in w.value for w in at.run().warning), 60, 0.2, "the page did not show the stop")
    assert store.list_runs()[0].metrics["epochs_completed"] < 50


def test_classify_page_skips_a_run_whose_weights_are_missing(trained_cnn, lightbox_home: Path) -> None:
    RunStore(lightbox_home).weights_path(trained_cnn.id).unlink()
    at = open_page("classify")
    options = at.selectbox(key="classify_run").options
    assert "EfficientNet-Lite0 · ImageNet, 1,000 everyday objects (built in)" in options
    assert not any(trained_cnn.name in option for option in options)
    assert "without saved weights cannot classify" in at.caption[0].value


def test_train_page_finds_a_learning_rate_and_uses_it() -> None:
    at = open_page("train")
    button(at, "Run the learning-rate finder").click().run()
    assert not at.exception and not at.error
    assert "falls fastest" in "".join(m.value for m in at.markdown)
    (use,) = [b for b in at.button if b.label.startswith("Use ")]
    use.click().run()
    assert not at.exception
    assert at.select_slider(key="train_lr").value == pytest.approx(float(use.label.split()[1]))
    at.selectbox(key="train_opt").set_value("sgd").run()  # a rate found for Adam is none for SGD
    assert not [b for b in at.button if b.label.startswith("Use ")]
    assert any("measured for another optimiser: run the finder again" in c.value for c in at.caption)


def test_train_settings_survive_a_visit_to_another_page() -> None:
    from core import default_train_config

    d = default_train_config("digits")
    at = open_page("train")
    at.selectbox(key="train_model").set_value("resnet18").run()
    at.slider(key="train_epochs").set_value(3).run()
    at.switch_page("../pages/compare.py").run()  # a page that draws none of Train's widgets
    at.switch_page("../pages/train.py").run()
    assert not at.exception
    assert at.selectbox(key="train_model").value == "resnet18" and at.slider(key="train_epochs").value == 3
    assert (at.select_slider(key="train_lr").value, at.select_slider(key="train_batch").value) == (d.lr, d.batch_size)
    assert at.selectbox(key="train_opt").value == d.optimizer  # before: 1e-05 in batches of 8 with SGD, whatever set


def test_train_page_previews_the_one_cycle_schedule() -> None:
    at = open_page("train")
    charts_before = len(at.get("plotly_chart"))
    at.selectbox(key="train_schedule").set_value("onecycle").run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == charts_before + 1


def test_train_page_shows_the_layer_groups_of_a_pretrained_model() -> None:
    at = open_page("train")
    tables = len(at.dataframe)
    at.selectbox(key="train_model").set_value("lite0_finetune").run()
    assert not at.exception
    assert len(at.dataframe) == tables + 1
    assert list(at.dataframe[0].value["learning rate"]) == pytest.approx([3e-3, 1e-3, 3e-3 / 9])


def test_data_page_imports_a_zip_of_class_folders(tmp_path: Path) -> None:
    at = open_page("data")
    at.text_input(key="data_import_name").set_value("pets")
    at.selectbox(key="data_import_size").set_value(32)
    at.file_uploader(key="data_import_zip").set_value(
        ("pets.zip", zip_tree(make_tree(tmp_path / "p")), "application/zip")
    )
    at.run()
    button(at, "Import").click().run()
    assert not at.exception and not at.error
    assert "Imported **pets** from pets\\.zip: 90 images in 3 classes" in at.success[0].value  # as text, not markup
    assert "Skipped files (1)" in [e.label for e in at.expander]
    assert any(m.value.startswith("- ") and "ignored" in m.value for m in at.markdown)  # the whole reason, wrapped
    # the picker is empty at once: a zip left there was imported again under the next name typed
    assert [u.value for u in at.file_uploader if u.key.startswith("data_import_zip")] == [None]
    picker = at.selectbox(key="data_dataset")
    assert picker.value == "pets" and "pets (your images, 3 classes)" in picker.options
    assert [m.value for m in at.metric][:4] == ["90", "3", "32 x 32 px", "3 (colour)"]

    at.checkbox(key="data_delete_pets").check().run()
    button(at, "Delete dataset").click().run()
    assert not at.exception
    assert at.selectbox(key="data_dataset").value == "digits"
    assert "pets (your images, 3 classes)" not in at.selectbox(key="data_dataset").options


def test_data_page_explains_a_zip_without_class_folders() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("cat.png", encode(Image.new("RGB", (8, 8), "red")))
    at = open_page("data")
    at.file_uploader(key="data_import_zip").set_value(("loose.zip", buf.getvalue(), "application/zip")).run()
    button(at, "Import").click().run()
    assert not at.exception
    assert at.error and "class folders" in at.error[0].value
    assert at.selectbox(key="data_dataset").value == "digits" and at.get("plotly_chart")  # the page goes on below it
    assert not at.get("progress")  # and no bar is left at 0%


def test_classify_offers_a_cached_torchvision_model(lightbox_home: Path) -> None:
    import torch
    import torchvision

    from core.models.pretrained import cached_weights_path

    path = cached_weights_path("resnet18")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    at = open_page("classify")
    assert "ResNet-18 · ImageNet (torchvision weights) (downloaded)" in at.selectbox(key="classify_run").options
    at.selectbox(key="classify_run").set_value("resnet18").run()
    photo, _ = digit_photo(0)
    at.file_uploader(key="classify_upload").set_value(("x.png", encode(photo), "image/png")).run()
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 1


def test_an_unusable_lightbox_home_is_a_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("LIGHTBOX_HOME", str(blocker))
    for page in ("train", "compare", "classify"):
        at = open_page(page)
        assert at.error and "LIGHTBOX_HOME" in at.error[0].value
    for page in ("data", "teach"):  # pages that need the home only to save: they still render
        open_page(page)


def _caption(at: AppTest, start: str) -> str:
    """Return the caption of the one image whose caption starts with `start`."""
    (caption,) = [c for image in at.image if (c := image.proto.imgs[0].caption).startswith(start)]
    return caption


def test_classify_shows_where_the_model_looked(trained_cnn) -> None:
    at = open_page("classify")
    at.selectbox(key="classify_run").set_value(trained_cnn.id).run()
    photo, _ = digit_photo(2)
    at.file_uploader(key="classify_upload").set_value(("digit.png", encode(photo), "image/png")).run()
    assert not at.exception and not at.error
    assert _caption(at, "Where the model saw") == f"Where the model saw '{at.metric[0].value}'"
    explain = at.selectbox(key="classify_explain")
    runner_up = explain.options[1]  # the second most probable class
    explain.set_value(next(i for i in range(10) if str(i) == runner_up)).run()
    assert not at.exception
    assert _caption(at, "Where the model saw") == f"Where the model saw '{runner_up}'"
