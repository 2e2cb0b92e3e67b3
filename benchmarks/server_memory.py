"""Measure the dashboard server's cold start and memory with three browser sessions.

Starts `streamlit run dashboard/app.py` headless on a free port over a temporary LIGHTBOX_HOME, then drives
Debian's Chromium (Playwright): session 1 opens Home (cold start ends when the title shows) and classifies a
photo with the built-in pretrained model on Classify; sessions 2 and 3 each start a ResNet-18 training job on
Train. The server's RSS (process and children, /proc VmRSS; VmHWM for the peak) is sampled every 0.2 s.
Streamlit Community Cloud gives an app 690 MB to 2.7 GB, so the peak is the figure to compare.

Run: python benchmarks/server_memory.py [--max-jobs 1 --hold 10]
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from benchmarks.serving import tree  # noqa: E402
from core import RunStore  # noqa: E402
from tests.helpers.browser import CHROMIUM, CHROMIUM_FLAGS, start_server  # noqa: E402


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    """Sample the RSS of a process tree every `every` seconds; keep the last and the peak (MB)."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.done = pid, every, threading.Event()
        self.last = self.peak = 0.0

    def rss(self) -> float:
        try:
            return sum(_status_kb(p, "VmRSS") for p in tree(self.pid)) / 1024
        except (FileNotFoundError, ProcessLookupError):
            return 0.0

    def hwm(self) -> float:
        return sum(_status_kb(p, "VmHWM") for p in tree(self.pid)) / 1024

    def run(self) -> None:
        while not self.done.is_set():
            self.last = self.rss()
            self.peak = max(self.peak, self.last)
            time.sleep(self.every)


def _open(page, url: str, heading: str, ready: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"]')
    page.get_by_role("heading", name=heading).first.wait_for()
    page.get_by_text(ready).first.wait_for()


def _start_training(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    _open(page, f"{url}/train", "Train", "Start training")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Model").click()
    page.get_by_role("option", name="ResNet-18").click()
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Start training").click()
    return page


def _wait_for_epoch(store: RunStore, proc, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not any(store.history(r.id) for r in store.list_runs()):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("no training job finished an epoch")
        time.sleep(0.2)


def measure(args: argparse.Namespace, home: Path, photo: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    figures: dict[str, float] = {}
    began = time.monotonic()
    proc, url = start_server(home, {"LIGHTBOX_MAX_JOBS": str(args.max_jobs)})
    figures["health OK (s)"] = time.monotonic() - began
    sampler = Sampler(proc.pid)
    sampler.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            first = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            first.set_default_timeout(120_000)
            _open(first, url, "Lightbox", "New here")
            figures["cold start to first page (s)"] = time.monotonic() - began
            time.sleep(1.0)
            figures["RSS after start (MB)"] = sampler.rss()
            _open(first, f"{url}/classify", "Classify", "Upload an image")
            first.locator('input[type="file"]').set_input_files(str(photo))
            first.get_by_text("What the model sees").wait_for()
            time.sleep(1.0)
            figures["RSS with the pretrained model loaded (MB)"] = sampler.rss()
            for _ in range(2):
                _start_training(browser, url)
            _wait_for_epoch(RunStore(home), proc)  # the store, not a tab's text: background tabs are throttled
            time.sleep(args.hold)  # three sessions open, training going on
            figures["RSS with 3 sessions and training (MB)"] = sampler.rss()
            figures["peak RSS sampled (MB)"] = sampler.peak
            figures["peak RSS, kernel VmHWM (MB)"] = sampler.hwm()
            browser.close()
    finally:
        sampler.done.set()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--max-jobs", type=int, default=1, help="LIGHTBOX_MAX_JOBS for the server")
    p.add_argument("--hold", type=float, default=10.0, help="seconds to sample with 3 sessions and training")
    args = p.parse_args()
    from skimage import data

    with tempfile.TemporaryDirectory() as tmp:
        home, photo = Path(tmp) / "home", Path(tmp) / "chelsea.jpg"
        home.mkdir()
        Image.fromarray(data.chelsea()).save(photo)
        figures = measure(args, home, photo)
    print(f"server memory, LIGHTBOX_MAX_JOBS={args.max_jobs}")
    for name, value in figures.items():
        print(f"  {name:<45} {value:8.1f}")


if __name__ == "__main__":
    main()
