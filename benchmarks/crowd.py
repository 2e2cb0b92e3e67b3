"""A class opens the link at once: 1, 4 and 8 visitors open Classify and upload a photo together.

For each crowd size a fresh server starts (cold: torch, the model and the data not loaded yet, as a
Community Cloud app is after it sleeps); N Chromium contexts (one browser) open /classify at the same
moment and upload a photo; a visitor is answered when "What the model sees" shows. Then the same N do it
again on the now warm server. Reported per round: answered, median and slowest seconds, and the server's
CPU-seconds (user + system of the process tree, from /proc) spent from the moment the visitors start.
The 1-visitor cold round also gives the server's RSS once one photo is classified, against a bare
`import torch` process (goal: <= +250 MB). Goal for crowds: 4 cold visitors cost <= 1.5x the CPU of one
cold visit plus three warm ones.

Run: python benchmarks/crowd.py [--sizes 1 4 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.serving import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    ROOT,
    bare_torch_rss,
    cpu_seconds,
    load_average,
    rss_mb,
    start_app,
    stop,
)

SHOTS: Path | None = None  # --shots DIR: a screenshot of every visitor left without an answer


async def _visit(browser, url: str, photo: Path, timeout_s: float) -> float | None:
    """Open Classify, upload the photo, wait for the answer; return the seconds it took, or None."""
    began = time.monotonic()
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    try:
        page = await context.new_page()
        page.set_default_timeout(timeout_s * 1000)
        await page.goto(f"{url}/classify")
        await page.get_by_role("tab", name="Upload an image").click()  # Classify opens on the camera when there is one
        await page.locator('input[type="file"]').set_input_files(str(photo))
        await page.get_by_text("What the model sees").first.wait_for()
        return time.monotonic() - began
    except Exception:  # a visitor who never got an answer counts as unanswered
        if SHOTS is not None:
            await page.screenshot(path=str(SHOTS / f"unanswered-{time.monotonic():.0f}.png"))
        return None
    finally:
        await context.close()


async def _idle(pid: int, quiet_s: float = 0.2, longest_s: float = 120.0) -> None:
    """Wait until the server uses under `quiet_s` CPU-seconds in a second (or `longest_s` passed)."""
    deadline = time.monotonic() + longest_s
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        await asyncio.sleep(1.0)
        if cpu_seconds(pid) - before < quiet_s:
            return


async def _crowd(browser, url: str, photo: Path, n: int, pid: int, timeout_s: float) -> dict[str, float]:
    cpu0 = cpu_seconds(pid)
    times = await asyncio.gather(*(_visit(browser, url, photo, timeout_s) for _ in range(n)))
    await _idle(pid)  # the cold round's cost includes what the server finishes after answering (the warm-up)
    answered = [t for t in times if t is not None]
    return {
        "answered": len(answered),
        "median_s": statistics.median(answered) if answered else float("nan"),
        "slowest_s": max(answered) if answered else float("nan"),
        "cpu_s": cpu_seconds(pid) - cpu0,
    }


def _report(n: int, state: str, r: dict[str, float]) -> None:
    print(
        f"  {n} visitor(s) {state}: answered {r['answered']}/{n}, median {r['median_s']:6.2f} s, "
        f"slowest {r['slowest_s']:6.2f} s, server CPU {r['cpu_s']:6.2f} s",
        flush=True,
    )


async def run(sizes: list[int], home: Path, photo: Path, timeout_s: float) -> dict[tuple[int, str], dict]:
    from playwright.async_api import async_playwright

    results: dict[tuple[int, str], dict] = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for n in sizes:
            server_home = home / f"home-{n}"
            server_home.mkdir()
            proc, url, _ = start_app(ROOT / "dashboard" / "app.py", server_home)
            try:
                results[(n, "cold")] = await _crowd(browser, url, photo, n, proc.pid, timeout_s)
                if n == 1:
                    await asyncio.sleep(2)
                    results[(n, "cold")]["rss_mb"] = rss_mb(proc.pid)
                _report(n, "cold", results[(n, "cold")])
                results[(n, "warm")] = await _crowd(browser, url, photo, n, proc.pid, timeout_s)
                _report(n, "warm", results[(n, "warm")])
            finally:
                stop(proc)
        await browser.close()
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 8])
    p.add_argument("--timeout", type=float, default=300.0, help="seconds a visitor waits before giving up")
    p.add_argument("--shots", type=Path, help="folder for screenshots of visitors left without an answer")
    args = p.parse_args()
    global SHOTS
    SHOTS = args.shots
    from PIL import Image
    from skimage import data

    print(f"load average before: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        home, photo = Path(tmp), Path(tmp) / "chelsea.jpg"
        Image.fromarray(data.chelsea()).save(photo)
        results = asyncio.run(run(sorted(set(args.sizes) | {1}), home, photo, args.timeout))
    print(f"load average after: {load_average()}")
    bare = bare_torch_rss()
    rss = results[(1, "cold")]["rss_mb"]
    print(
        f"  RSS after one photo: {rss:.0f} MB; bare `import torch`: {bare:.0f} MB; +{rss - bare:.0f} MB (goal <= +250)"
    )
    if (4, "cold") in results:
        budget = results[(1, "cold")]["cpu_s"] + 3 * results[(1, "warm")]["cpu_s"]
        ratio = results[(4, "cold")]["cpu_s"] / budget
        print(f"  4 cold visitors cost {ratio:.2f}x (one cold + three warm visits) in server CPU (goal <= 1.5x)")


if __name__ == "__main__":
    main()
