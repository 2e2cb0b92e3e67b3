"""First page in Chromium after `streamlit run`: Lightbox against a bare one-title Streamlit app, side by side.

For each round, each app starts on a fresh server (fresh process, so torch is cold) and one Chromium tab
(the browser already running) opens it; the time counts from the server answering /_stcore/health to the
page's title being visible, and also from the process start. Apps alternate so machine load hits both alike.
Goal (issue 11): Lightbox <= 1.5x the bare app.

Run: python benchmarks/first_page.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.serving import BARE_APP, CHROMIUM, CHROMIUM_FLAGS, ROOT, load_average, start_app, stop


def first_page(browser, app: Path, home: Path, title: str) -> tuple[float, float]:
    """Return (seconds from health OK to the title, seconds from process start to the title)."""
    began = time.monotonic()
    proc, url, _ = start_app(app, home)
    try:
        healthy_at = time.monotonic()
        page = browser.new_context().new_page()
        page.set_default_timeout(180_000)
        page.goto(url)
        page.get_by_role("heading", name=title).first.wait_for()
        done = time.monotonic()
        page.context.close()
        return done - healthy_at, done - began
    finally:
        stop(proc)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"load average before: {load_average()}")
    times: dict[str, list[tuple[float, float]]] = {"bare": [], "lightbox": []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        home = Path(tmp)
        bare = home / "bare.py"
        bare.write_text(BARE_APP)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for _ in range(args.rounds):
            times["bare"].append(first_page(browser, bare, home, "Bare"))
            times["lightbox"].append(first_page(browser, ROOT / "dashboard" / "app.py", home, "Lightbox"))
        browser.close()
    print(f"load average after: {load_average()}")
    for name, rows in times.items():
        print(
            f"  {name:<9} health->title "
            + " ".join(f"{a:5.2f}" for a, _ in rows)
            + "  | start->title "
            + " ".join(f"{b:5.2f}" for _, b in rows)
        )
    for i, label in ((0, "health OK -> title"), (1, "process start -> title")):
        bare_s = statistics.median(r[i] for r in times["bare"])
        light_s = statistics.median(r[i] for r in times["lightbox"])
        ratio = light_s / bare_s
        print(
            f"  median {label:<24} bare {bare_s:5.2f} s  lightbox {light_s:5.2f} s  ratio {ratio:4.2f}x (goal <= 1.5x)"
        )


if __name__ == "__main__":
    main()
