"""A real `streamlit run` server and Debian's Chromium driven by Playwright: start, open, wait, check."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.helpers.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]
# Debian's chromium-headless-shell package (.ci/run installs it beside chromium) is the same engine without the
# browser's own windowing and UI: the whole suite 0.92x as long, its Chromium CPU 0.82x (2 rounds each, alternating).
# The shell has no permission prompt, so a camera the browser may not use is tested in the full browser.
CHROMIUM_FULL = shutil.which("chromium") or "/usr/bin/chromium"
HEADLESS_SHELL = Path("/usr/lib/chromium/chromium-headless-shell")
CHROMIUM = str(HEADLESS_SHELL) if HEADLESS_SHELL.exists() else CHROMIUM_FULL
ARTIFACTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    # The fake camera draws its picture 10 times a second, not 20: on a page whose live camera answers 4 frames
    # a second, Chromium took 3.1 CPU-s per 10 s instead of 4.0-6.0 (2 rounds, alternating). A video file (the
    # tests that check what the camera sees) plays at its own rate.
    "--use-fake-device-for-media-stream=fps=10",
    "--use-fake-ui-for-media-stream",
]


LAUNCH_TIMEOUT_MS = 120_000  # Playwright's 30 s: a fresh machine's first start reads a 200 MB binary, three at once


def launch(playwright, *flags: str, executable: str = CHROMIUM):
    """Start Chromium with the suite's flags and any `flags` more (a fake webcam's video, say)."""
    return playwright.chromium.launch(
        executable_path=executable, args=[*CHROMIUM_FLAGS, *flags], timeout=LAUNCH_TIMEOUT_MS
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, env: dict[str, str] | None = None, root: Path = ROOT) -> tuple[subprocess.Popen, str]:
    """Start the dashboard of the checkout at `root` on a free port over `home`; return it and its URL once healthy."""
    port = _free_port()
    with open(home / "server.log", "a") as log:  # the child keeps its own copy of the file
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "dashboard/app.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LIGHTBOX_HOME": str(home), **(env or {})},
        )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit did not start: {(home / 'server.log').read_text()[-2000:]}")
        try:
            return urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok"
        except OSError:
            return False

    try:
        wait_until(healthy, 60, 0.3)
    except AssertionError as exc:
        proc.kill()
        raise RuntimeError(f"streamlit did not start: {(home / 'server.log').read_text()[-2000:]}") from exc
    SERVERS[url] = proc
    return proc, url


SERVERS: dict[str, subprocess.Popen] = {}  # url -> the server start_server started there


def server_loaded(url: str, package: str) -> bool:
    """Say whether the server at `url` has loaded a compiled module of `package` (a file of it is mapped)."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin, f"{package} is not installed here"
    return f"{Path(spec.origin).parent}/" in Path(f"/proc/{SERVERS[url].pid}/maps").read_text()


def stop_server(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """End a server started by start_server: ask it to stop, and kill it if it is still busy after `grace` s.

    A server still loading its warm-up model when asked waits for that load before it exits (up to a minute).
    """
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(30)


def open_tab(browser, server: str):
    """Return a fresh page (own cookies, so its own Streamlit session) pointed at the server."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"])
    return blank(context.new_page(), server)


def blank(page, server: str | None = None):
    """Return the tab emptied for the next test (pointed at `server` if given): each page it opens then starts a
    new Streamlit session.

    Tests share a tab where they can: in Chromium a new context costs about 3 CPU-seconds more than navigating
    an open tab (a new renderer process compiling Streamlit's scripts again), and the suite is CPU-bound.
    """
    page.goto("about:blank")
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    if server is not None:
        page.base_url = server  # type: ignore[attr-defined]
    return page


def screenshot(page, name: str) -> None:
    """Save a full-page screenshot under artifacts/screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def goto(page, path: str, heading: str | None, ready: str | None = None) -> None:
    """Open a page of the app by its address (a new Streamlit session) and wait until it is drawn (`drawn`)."""
    page.goto(f"{page.base_url}/{path}")
    page.wait_for_selector('[data-testid="stApp"]')
    drawn(page, heading, ready)


def visit(page, path: str, heading: str | None, ready: str | None = None) -> None:
    """Open another page of the app from the sidebar, as a visitor does: the same session, nothing reloaded.

    A test opens its first page with `goto`, the pages after it this way. A page opened by its address boots
    Streamlit's browser side again: 16 page views cost Chromium 17.6-18.0 CPU-s by address and 9.1-9.4 from
    the sidebar (two rounds, side by side), and the suite is CPU-bound.
    """
    page.locator(f'[data-testid="stSidebarNav"] a[href="{page.base_url}/{path}"]').click()
    page.mouse.move(page.viewport_size["width"] // 2, 1)  # off the sidebar: it shows its collapse button on hover
    on_path(page, path)
    drawn(page, heading, ready)


def on_path(page, path: str) -> None:
    """Wait until the browser's address is the page `path` ("" for Home), whatever its query."""
    page.wait_for_function("path => location.pathname === path", arg=f"/{path}", polling=100)


def drawn(page, heading: str | None, ready: str | None = None) -> None:
    """Wait for the page's heading (and `ready` text) and the end of its script run."""
    if heading:
        page.get_by_role("heading", name=heading).first.wait_for()
    if ready:
        page.get_by_text(ready).first.wait_for()
    settle(page)


def settle(page) -> None:
    """Wait until the script run ends: Streamlit's 'running' indicator is gone and no element is left from the run
    before (Streamlit shows the indicator only after half a second, and until a run ends an element it has not
    redrawn yet stays on screen as the last run left it: a widget that moved was there twice)."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
    page.wait_for_function(
        '!document.querySelector(\'[data-testid="stElementContainer"][data-stale="true"]\')', timeout=60_000
    )
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")


def assert_no_error(page) -> None:
    """Fail if the page shows an exception or a traceback."""
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.content()
