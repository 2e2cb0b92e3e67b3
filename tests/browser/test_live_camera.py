"""The live camera in Chromium: a fake webcam plays photo A for 3 s, then photo B for 3 s, in a loop."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from tests.helpers.browser import (
    CHROMIUM_FLAGS,
    CHROMIUM_FULL,
    LAUNCH_TIMEOUT_MS,
    assert_no_error,
    blank,
    launch,
    open_tab,
    screenshot,
    server_loaded,
)
from tests.helpers.images import SCENE_S, write_scenes
from tests.helpers.wait import becomes, wait_until

pytestmark = pytest.mark.browser
data = pytest.importorskip("skimage.data")

COFFEE = {"espresso", "cup", "coffee mug", "consomme", "eggnog"}
CAT = {"tabby", "tiger cat", "Egyptian cat", "lynx", "tiger"}


def _means(*photos: Image.Image) -> list[np.ndarray]:
    return [np.asarray(p.convert("RGB").resize((32, 32)), dtype=np.float32).reshape(-1, 3).mean(0) for p in photos]


@pytest.fixture(scope="module")
def live_browser(playwright, tmp_path_factory) -> Iterator[object]:
    """A Chromium whose webcam films the coffee photo, then the cat, in a loop."""
    video = write_scenes(
        tmp_path_factory.mktemp("cam") / "scenes.y4m", Image.fromarray(data.coffee()), Image.fromarray(data.chelsea())
    )
    b = launch(playwright, f"--use-file-for-fake-video-capture={video}")
    yield b
    b.close()


@pytest.fixture(scope="module")
def live_tab(live_browser, server: str) -> Iterator[object]:
    """One tab on that Chromium for the module (see `blank`)."""
    page = open_tab(live_browser, server)
    yield page
    page.context.close()


@pytest.fixture
def live_page(live_tab, server: str) -> object:
    """That tab emptied and sized 1280x720: each page a test opens in it starts a new Streamlit session."""
    page = blank(live_tab, server)
    page.set_viewport_size({"width": 1280, "height": 720})
    return page


def _camera(page):
    return page.locator(".lightbox-camera").first


def _wait_top(page, names: set[str], timeout_s: float = 60) -> str:
    """Wait until the camera's top answer is one of `names`; return it."""
    deadline = time.monotonic() + timeout_s
    seen = None
    while time.monotonic() < deadline:
        seen = _camera(page).get_attribute("data-top")
        if seen in names:
            return seen
        page.wait_for_timeout(100)
    raise AssertionError(f"the camera said {seen!r}, never one of {sorted(names)}")


def _scene(page, means: list[np.ndarray]) -> int:
    """Return which photo the camera shows now (index into `means`), by its mean colour."""
    rgb = _camera(page).evaluate(
        """root => { const v = root.querySelector('video'), c = document.createElement('canvas');
        c.width = c.height = 32; const x = c.getContext('2d'); x.drawImage(v, 0, 0, 32, 32);
        const d = x.getImageData(0, 0, 32, 32).data; const m = [0, 0, 0];
        for (let i = 0; i < d.length; i += 4) { m[0] += d[i]; m[1] += d[i + 1]; m[2] += d[i + 2]; }
        return m.map(v => v / (d.length / 4)); }"""
    )
    return int(np.argmin([np.abs(np.asarray(rgb) - m).sum() for m in means]))


def _when_scene_starts(page, means: list[np.ndarray], index: int) -> None:
    """Wait until the camera has just switched to photo `index`."""
    while _scene(page, means) == index:
        page.wait_for_timeout(50)
    while _scene(page, means) != index:
        page.wait_for_timeout(50)


def _count(page, name: str) -> int:
    """Return the number of examples of class `name`, as the camera's note counts them ("Class 1: 3 · ...")."""
    note = _camera(page).locator("[data-part=note]").inner_text().replace("\u00a0", " ")  # no break inside a name
    counts = dict(part.rsplit(": ", 1) for part in note.split(" · ") if ": " in part)
    return int(counts.get(name, 0))


def test_home_to_a_live_answer_that_follows_the_scene(live_page) -> None:
    page = live_page
    page.goto(page.base_url)
    page.get_by_role("button", name="Try the camera").click(timeout=180_000)  # the one click from Home
    first = _wait_top(page, COFFEE | CAT, timeout_s=120)
    second = _wait_top(page, CAT if first in COFFEE else COFFEE)
    _wait_top(page, COFFEE if second in CAT else CAT)  # and back: the answer follows the scene
    box = _camera(page).bounding_box()
    assert box["y"] + box["height"] <= 720 + 1, box  # answer and video on one 1280x720 screen
    assert int(_camera(page).get_attribute("data-answers")) >= 3
    _camera(page).locator("[data-part=pause]").click()  # freeze, then ask where it looked
    _camera(page).locator("[data-part=explain]").click()
    _camera(page).locator("[data-part=heat]").wait_for(state="visible", timeout=60_000)
    frozen = _answers(page)
    page.wait_for_timeout(1500)
    assert _answers(page) == frozen  # frozen: no frames sent
    assert_no_error(page)
    assert not server_loaded(page.base_url, "pandas")  # the answers' lists reach the element without pandas
    screenshot(page, "classify-live")
    _camera(page).locator("[data-part=pause]").click()


@pytest.mark.parametrize("path", ["teach", "tour?step=5&presenter=1"])  # the Teach page, and the Tour's step 5
def test_teach_by_holding_then_the_taught_model_names_each_scene(live_page, path: str) -> None:
    page = live_page
    means = _means(Image.fromarray(data.coffee()), Image.fromarray(data.chelsea()))
    page.goto(f"{page.base_url}/{path}")
    hold = page.locator(".lightbox-camera [data-part=hold]").first
    hold.wait_for()
    _camera(page).locator("video").evaluate(
        "v => new Promise(r => { const go = () => v.currentTime > 0.3 ? r() : setTimeout(go, 50); go(); })"
    )
    first = 1 - _scene(page, means)  # Class 1 records the photo that comes next, Class 2 the other
    began = -math.inf  # when the scene held last began
    for index, name in ((first, "Class 1"), (1 - first, "Class 2")):
        page.locator("[data-testid=stButtonGroup]").get_by_text(name, exact=True).first.click()  # record into
        page.get_by_text(f"Hold to record {name}").wait_for()
        for _ in range(6):  # a loaded machine answers slowly: hold again in the next loop of the video
            if _scene(page, means) == index and time.monotonic() < began + SCENE_S + 0.8:
                began += SCENE_S  # the scene after the last one held began under a second ago: hold in it now
            else:
                _when_scene_starts(page, means, index)
                began = time.monotonic()
            page.wait_for_timeout(300)
            hold.hover()
            page.mouse.down()
            page.wait_for_timeout(1500)  # inside the 3 s scene: about six examples (one each 0.25 s)
            page.mouse.up()
            if becomes(lambda n=name: _count(page, n) >= 2, 1.5):  # letting go reruns the page: the new count
                break
        assert _count(page, name) >= 2, _camera(page).evaluate("r => ({...r.dataset, note: r.innerText})")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Trained in").wait_for(timeout=120_000)
    seen: set[tuple[int, str | None]] = set()
    deadline = time.monotonic() + 60
    taught = {(first, "Class 1"), (1 - first, "Class 2")}
    while not taught <= seen and time.monotonic() < deadline:
        seen.add((_scene(page, means), _camera(page).get_attribute("data-top")))
        page.wait_for_timeout(100)
    assert taught <= seen, seen  # the taught model names each scene
    bar, headline = _camera(page).evaluate(
        "r => ['.bar', '.headline'].map(c => parseFloat(getComputedStyle(r.querySelector(c)).fontSize))"
    )
    if "presenter" in path:  # readable from the back of a room, like the page's other presenter text (20.8 px)
        assert bar >= 24 and headline >= 48, (bar, headline)
    else:
        assert bar < 20 and headline < 40, (bar, headline)
    assert_no_error(page)
    screenshot(page, "teach-live" if path == "teach" else "tour-step-5-taught")
    for name in ("spare", "extra") if path == "teach" else ():  # typed while frames flow: added once, no notice
        page.get_by_label("New class").click()
        page.keyboard.type(name)
        page.keyboard.press("Enter")
        page.get_by_text(f"{name} · 0 images").wait_for()
        answers = _answers(page)
        wait_until(lambda n=answers: _answers(page) >= n + 2)  # frames went on (before: 3 adds in 4 said "already")
        assert page.get_by_text("There is a class called that already").count() == 0
        assert page.get_by_label("New class").input_value() == ""


def _answers(page) -> int:
    return int(_camera(page).get_attribute("data-answers") or 0)


# Streamlit drops a fragment rerun still waiting when the page reruns (a click outside the fragment), and the frame
# in it: here the next frame is swallowed on its way out, then a slider reruns the page.
_SWALLOW_NEXT_FRAME = """r => { const s = r.__lightbox; let send = s.send, armed = true;
  Object.defineProperty(s, 'send', { configurable: true, set: (f) => { send = f; }, get: () => (event, value) => {
    if (event !== 'frame') return send(event, value);
    if (armed) { armed = false; window.__dropped = performance.now(); return; }
    if (window.__dropped && !window.__next) window.__next = performance.now() - window.__dropped;
    return send(event, value); } }); }"""


def test_a_frame_lost_in_a_page_rerun_is_sent_again_before_the_timeout(live_page) -> None:
    page = live_page
    page.goto(f"{page.base_url}/classify")
    _wait_top(page, COFFEE | CAT, timeout_s=120)
    _camera(page).evaluate(_SWALLOW_NEXT_FRAME)
    page.wait_for_function("() => window.__dropped !== undefined")
    answers = _answers(page)
    page.get_by_role("slider").first.press("ArrowRight")  # the page reruns: the element is drawn, not answered
    page.wait_for_function("() => window.__next !== undefined", timeout=30_000)
    assert page.evaluate("() => window.__next") < 3000  # the answer timeout: no longer waited out
    assert int(_camera(page).get_attribute("data-lost")) >= 1  # given up, not waited out
    wait_until(lambda: _answers(page) > answers + 2)  # and the camera goes on answering
    assert_no_error(page)


# The browser sends the widget changes of one moment as one rerun, named after the first that belongs to a
# fragment: a camera frame sent just before a key press makes it the camera fragment's rerun alone. Holding
# zero-delay timers for 1.5 s lets the camera send a frame first, and the key press joins its batch.
_HOLD_THE_NEXT_BATCH = """() => {
  const plain = window.setTimeout;
  window.setTimeout = (f, d, ...a) => plain(f, d ? d : 1500, ...a);
  plain(() => { window.setTimeout = plain; }, 1700);
}"""


def test_a_page_key_sent_with_a_frame_still_moves_the_page(live_page) -> None:
    page = live_page
    page.goto(f"{page.base_url}/tour?step=5&presenter=1")
    page.locator(".lightbox-camera [data-part=hold]").first.wait_for()
    wait_until(lambda: _answers(page) >= 2)  # the camera streams
    page.evaluate(_HOLD_THE_NEXT_BATCH)
    page.wait_for_timeout(800)  # a frame is sent meanwhile and opens the batch
    page.keyboard.press("PageDown")  # the clicker: its step and that frame reach the server in one rerun
    page.get_by_text("6/7 · ").first.wait_for(timeout=90_000)  # the whole page moved on, not only the camera
    assert_no_error(page)


# A frame sent just after a click on a link (once Streamlit has sent the page change) named the page being left: it
# ran after the next page's run, found that page's camera gone, and the browser cleared the new page too (the
# sidebar said Tour, the page was blank; 3 clicks in 20 from Teach on a busy server). So did a frame handed to
# Streamlit just before the click: Streamlit sends it a timer later, after the page change (blank every time here).
_A_CLICK_AMID_FRAMES = """root => {
  const s = root.__lightbox, c = document.createElement('canvas');
  c.width = c.height = 224;
  const frame = () => {
    c.getContext('2d').drawImage(root.querySelector('video'), 0, 0, 224, 224);
    s.seq += 1;
    s.inflight = { seq: s.seq, at: performance.now() };
    const jpeg = c.toDataURL('image/jpeg', 0.85).split(',', 2)[1];
    return s.send('frame', { stream: s.id, seq: s.seq, jpeg, hold: false, still: false });
  };
  window.__sent = [];  // the frames tried after the click: sent or not
  window.__ws = null;  // what went to the server from the frame below on: 'frame' or 'other' (the page change)
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (d) {
    if (window.__ws) window.__ws.push(new TextDecoder('latin1').decode(d).includes('"jpeg"') ? 'frame' : 'other');
    return send.call(this, d);
  };
  document.addEventListener('click', () => {  // the click as Streamlit gets it (a held-back one: made again)
    [0, 10, 20, 40, 80].forEach((ms) => setTimeout(() => window.__sent.push(frame()), ms));
  }, { capture: true, once: true });
  // a frame handed over at the end of a chain of timers, as the camera's ticks are, and the click in that task
  const link = document.querySelector('[data-testid="stSidebarNav"] a[href$="/tour"]');
  const chain = (n) => (n ? setTimeout(() => chain(n - 1), 0) : ((window.__ws = []), frame(), link.click()));
  chain(6);
}"""


def test_a_link_clicked_while_the_camera_streams_opens_its_page(live_page) -> None:
    page = live_page
    page.goto(f"{page.base_url}/teach")
    page.locator(".lightbox-camera [data-part=hold]").first.wait_for(timeout=90_000)
    wait_until(lambda: _answers(page) >= 2)  # the camera streams
    _camera(page).evaluate(_A_CLICK_AMID_FRAMES)  # clicks Tour in the sidebar
    page.get_by_text("Step 1 of 7").first.wait_for(timeout=60_000)  # the Tour is drawn, and stays
    page.wait_for_timeout(1500)
    assert page.get_by_text("Step 1 of 7").first.is_visible()
    assert page.evaluate("() => window.__sent") == [False] * 5  # the camera sent nothing once the click was made
    assert page.evaluate("() => window.__ws")[0] == "frame"  # the frame handed over before it went out first
    assert page.locator(".lightbox-camera").count() == 0
    assert_no_error(page)


def test_two_visitors_stream_at_once_and_a_hidden_tab_stops_sending(live_page) -> None:
    first = live_page
    second = open_tab(first.context.browser, first.base_url)
    try:
        for page in (first, second):
            page.goto(f"{page.base_url}/classify")
        for page in (first, second):
            _wait_top(page, COFFEE | CAT, timeout_s=120)
        before = [_answers(first), _answers(second)]
        wait_until(lambda: _answers(first) > before[0] and _answers(second) > before[1])  # both answered
        second.evaluate(
            "() => { Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
            " document.dispatchEvent(new Event('visibilitychange')); }"
        )
        wait_until(lambda: _camera(second).get_attribute("data-state") == "away")
        second.wait_for_timeout(3000)  # the frame already on its way may still be answered
        hidden, shown = _answers(second), _answers(first)
        second.wait_for_timeout(5000)
        assert _answers(second) <= hidden + 1  # a hidden tab sends nothing (one may still be on its way)
        wait_until(lambda: _answers(first) > shown)  # the other visitor goes on
    finally:
        second.context.close()


def test_no_camera_and_an_unplugged_camera_are_sentences(live_page) -> None:
    page = open_tab(live_page.context.browser, live_page.base_url)
    try:
        page.goto(f"{page.base_url}/classify")
        _wait_top(page, COFFEE | CAT, timeout_s=120)
        _camera(page).evaluate("r => r.__lightbox.stream.getVideoTracks()[0].dispatchEvent(new Event('ended'))")
        page.get_by_text("The camera stopped").wait_for()
        page.context.add_init_script(
            "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('none', 'NotFoundError'));"
        )
        page.goto(f"{page.base_url}/classify")  # a reload is a new session: its camera is now missing
        page.locator("[role=tab][aria-selected=true]").filter(has_text="Upload an image").wait_for(timeout=60_000)
        page.locator('[data-testid="stFileUploader"]').first.wait_for()  # the upload tab opened by itself
        assert "No camera found" in _camera(page).locator("[data-part=message]").text_content()
        assert_no_error(page)
    finally:
        page.context.close()


def test_a_camera_the_browser_may_not_use_is_a_sentence_not_a_wait(playwright, server: str) -> None:
    flags = [f for f in CHROMIUM_FLAGS if f != "--use-fake-ui-for-media-stream"]  # no prompt answered for us...
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM_FULL, args=[*flags, "--deny-permission-prompts"], timeout=LAUNCH_TIMEOUT_MS
    )
    try:
        page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()  # ...and none granted
        page.set_default_timeout(60_000)
        page.goto(f"{server}/classify")
        page.get_by_role("heading", name="Classify").first.wait_for()
        refused = page.evaluate(
            "() => navigator.mediaDevices.getUserMedia({video: true}).then(() => 'allowed', e => e.name)"
        )
        assert refused == "NotAllowedError"  # a visitor who said no
        page.locator("[role=tab][aria-selected=true]").filter(has_text="Upload an image").wait_for(timeout=30_000)
        page.locator('[data-testid="stFileUploader"]').first.wait_for()  # the upload tab opened by itself
        assert "may not use the camera" in _camera(page).locator("[data-part=message]").text_content()
        assert_no_error(page)
    finally:
        browser.close()
