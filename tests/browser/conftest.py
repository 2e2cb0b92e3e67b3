"""A real `streamlit run` server and a headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
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
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start `streamlit run dashboard/app.py` on a free port over `home`; return it and its URL once healthy."""
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
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LIGHTBOX_HOME": str(home), **(env or {})},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"streamlit did not start: {(home / 'server.log').read_text()[-2000:]}")
        time.sleep(0.3)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the dashboard on a free localhost port with its own LIGHTBOX_HOME; yield its URL."""
    try:
        proc, url = start_server(tmp_path_factory.mktemp("browser-home"))
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def playwright() -> Iterator[object]:
    """The Playwright driver; skipped where it or Debian's Chromium is missing (a failure under CI)."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install -r requirements-dev.txt)"
    if not Path(CHROMIUM).exists():
        missing = "Debian's chromium is not installed (apt-get install chromium)"
    if missing:
        if os.environ.get("CI"):  # CI installs both: a missing browser there is a failure, not a skip
            pytest.fail(missing)
        pytest.skip(missing)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright) -> Iterator[object]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    yield b
    b.close()


def open_tab(browser, server: str):
    """Return a fresh page (own cookies, so its own Streamlit session) pointed at the server."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"])
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.base_url = server  # type: ignore[attr-defined]
    return pg


@pytest.fixture
def page(browser, server: str):
    pg = open_tab(browser, server)
    yield pg
    pg.context.close()


def screenshot(page, name: str) -> None:
    """Save a full-page screenshot under artifacts/screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
