"""Cloud rehearsal: the server under a hard 1.3 GB memory cap serves three visitors for N minutes.

Community Cloud gives an app about 1 GB; this machine's CUDA build of torch costs about 300 MB more than
the CPU build a Cloud app installs, hence 1.3 GB here. The cap is a cgroup v1 memory limit (needs root):
`/sys/fs/cgroup/memory/<name>` with `memory.limit_in_bytes`, the server's PID written to `cgroup.procs`.
Three Chromium contexts (one browser, whose fake webcam films a coffee cup, then a cat, in a loop) act for
`--minutes`, in private sharing mode:
- a trainer: Train, ResNet-18 on the digits, Start training; again whenever the job has ended;
- a teacher: Teach, holds the record button for two classes, trains, watches the taught model live; then
  Classify: the live camera for a while, and a photo uploaded (cat, coffee, astronaut in turn);
- a viewer: Compare, then the Tour, back and forth.
Reported: the cgroup's peak memory, the server's peak RSS against a bare `import torch`, the cgroup's limit
hits (failcnt) and OOM kills, whether the server died, the number of error boxes (Streamlit's exception
box, and st.error) each visitor saw, and what each got done.

Run (as root): python benchmarks/cloud_rehearsal.py [--minutes 10] [--cap-mb 1300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.serving import (
    ROOT,
    bare_torch_rss,
    bare_torch_rss_by_file,
    load_average,
    rss_by_file,
    rss_mb,
    start_app,
    stop,
)
from tests.helpers.browser import CHROMIUM, CHROMIUM_FLAGS  # with a fake webcam
from tests.helpers.images import write_scenes

CGROUP_ROOT = Path("/sys/fs/cgroup/memory")
SHOTS: Path | None = None  # --shots DIR: a screenshot of every failed step
TIMELINE: list[tuple[float, str]] = []  # (monotonic time, what a visitor began), for --trace
EXCEPTION = '[data-testid="stException"]'
ERROR = '[data-testid="stAlertContentError"]'


class Visitor:
    """What one visitor did and saw."""

    def __init__(self, name: str) -> None:
        self.name, self.done, self.exceptions, self.errors, self.failures = name, 0, 0, 0, []

    async def failed(self, page, exc: Exception) -> None:
        """Note a step that failed (and keep a screenshot of it with --shots); the visitor carries on."""
        self.failures.append(f"{type(exc).__name__}: {str(exc)[:120]}")
        if SHOTS is not None:
            await page.screenshot(path=str(SHOTS / f"{self.name}-{len(self.failures)}.png"), full_page=True)

    def mark(self, step: str) -> None:
        TIMELINE.append((time.monotonic(), f"{self.name}: {step}"))

    async def look(self, page) -> None:
        self.exceptions += await page.locator(EXCEPTION).count()
        self.errors += await page.locator(ERROR).count()


async def _open(page, url: str, heading: str) -> None:
    await page.goto(url)
    await page.get_by_role("heading", name=heading).first.wait_for()


async def trainer(v: Visitor, browser, url: str, until: float) -> None:
    page = await (await browser.new_context(viewport={"width": 1400, "height": 1000})).new_page()
    page.set_default_timeout(300_000)
    while time.monotonic() < until:
        try:
            await _open(page, f"{url}/train", "Train")
            await page.locator('[data-testid="stSelectbox"]').filter(has_text="Model").click()
            await page.get_by_role("option", name="ResNet-18").click()
            await page.wait_for_timeout(1000)
            await page.get_by_role("button", name="Start training").click()
            v.mark("started training ResNet-18")
            await page.wait_for_timeout(3000)
            while time.monotonic() < until and await page.get_by_role("button", name="Stop").count():
                await page.wait_for_timeout(2000)
            v.mark("training ended")
            await v.look(page)
            v.done += 1
        except Exception as exc:  # noted, and the visitor carries on
            await v.failed(page, exc)


async def _hold(page, seconds: float) -> None:
    await page.locator(".lightbox-camera [data-part=hold]").first.hover()
    await page.mouse.down()
    await page.wait_for_timeout(seconds * 1000)
    await page.mouse.up()
    await page.wait_for_timeout(1500)  # letting go reruns the page


async def _count(page, name: str) -> int:
    """Return how many examples the page says class `name` has ("Class 1: 4 · Class 2: 0", its spaces no-break)."""
    pattern = re.escape(name).replace(r"\ ", r"\s") + r":\s(\d+)"  # \s: a no-break space too, in Python and JS
    line = await page.get_by_text(re.compile(pattern)).first.text_content()
    return int(re.search(pattern, line or "").group(1))


async def teach(page, url: str) -> None:
    """Teach two classes by holding the button, train, and watch the taught model on the live camera."""
    await _open(page, f"{url}/teach", "Teach")
    await page.locator(".lightbox-camera [data-part=hold]").first.wait_for()
    for name in ("Class 1", "Class 2"):
        await page.locator("[data-testid=stButtonGroup]").get_by_text(name, exact=True).first.click()
        await page.get_by_text(f"Hold to record {name}").wait_for()
        for _ in range(8):  # a busy server answers (and so records) fewer frames a second: hold again
            await _hold(page, 2.5)
            if await _count(page, name) >= 3:
                break
    await page.get_by_role("button", name="Train", exact=True).click()
    await page.get_by_text("Trained in").wait_for()
    await page.wait_for_timeout(10_000)  # the taught model answers live


async def classify(page, url: str, photo: Path, mark=lambda step: None) -> None:
    """Watch the live camera on Classify for a while, then upload a photo and wait for the answer."""
    await _open(page, f"{url}/classify", "Classify")
    mark("live camera on Classify")
    await page.wait_for_timeout(10_000)
    await page.get_by_role("tab", name="Upload an image").click()
    await page.locator('input[type="file"]').set_input_files(str(photo))
    mark(f"uploaded {photo.name}")
    await page.get_by_text("What the model sees").first.wait_for()
    mark("answered")


async def teacher(v: Visitor, browser, url: str, until: float, photos: list[Path], teaches: bool = True) -> None:
    page = await (await browser.new_context(viewport={"width": 1400, "height": 1000})).new_page()
    page.set_default_timeout(300_000)
    i = 0
    while time.monotonic() < until:
        try:
            if teaches and i % 2 == 0:
                await teach(page, url)
            else:
                await classify(page, url, photos[i % len(photos)], v.mark)
            await v.look(page)
            v.done += 1
        except Exception as exc:
            await v.failed(page, exc)
        i += 1


async def viewer(v: Visitor, browser, url: str, until: float, pages: tuple[str, ...]) -> None:
    page = await (await browser.new_context(viewport={"width": 1400, "height": 1000})).new_page()
    page.set_default_timeout(300_000)
    while time.monotonic() < until:
        for path, heading in ((p, p.capitalize()) for p in pages):
            try:
                await _open(page, f"{url}/{path}", heading)
                v.mark(f"opened {heading}")
                await page.wait_for_timeout(5000)
                await v.look(page)
                v.done += 1
            except Exception as exc:
                await v.failed(page, exc)


async def sample_rss(
    pid: int, until: float, samples: list[tuple[float, float]], anon: list[float], at_peak: dict[str, float]
) -> None:
    """Record the server's RSS, and its anonymous part (no files mapped), every half second (for --trace).

    At each new peak, `at_peak` takes the server's resident memory per mapped file.
    """
    while time.monotonic() < until:
        samples.append((time.monotonic(), rss_mb(pid)))
        anon.append(rss_mb(pid, "RssAnon"))
        if samples[-1][1] >= max(r for _, r in samples):
            at_peak.clear()
            at_peak.update(rss_by_file(pid))
        await asyncio.sleep(0.5)


def print_files(at_peak: dict[str, float], bare: dict[str, float]) -> None:
    """Print what grew most between a bare `import torch` and the server at its peak, per mapped file."""
    grew = sorted(((mb - bare.get(name, 0.0), name) for name, mb in at_peak.items()), reverse=True)
    print(f"  at the peak, over a bare `import torch` ({sum(at_peak.values()):.0f} vs {sum(bare.values()):.0f} MB):")
    for mb, name in grew[:12]:
        print(f"    {mb:+7.1f} MB  {name.split('site-packages/')[-1]}")


def print_trace(samples: list[tuple[float, float]], start: float) -> None:
    """Print each visitor step with the server's RSS then, and every rise of 20 MB or more between samples."""
    events = [(t, f"{what}") for t, what in TIMELINE] + [
        (t, f"RSS +{rss - samples[i - 1][1]:.0f} MB")
        for i, (t, rss) in enumerate(samples)
        if i and rss - samples[i - 1][1] >= 20
    ]
    for t, what in sorted(events):
        peak = max((r for s, r in samples if s <= t), default=0.0)
        now = next((r for s, r in reversed(samples) if s <= t), 0.0)
        print(f"  {t - start:7.1f} s  RSS {now:6.0f} MB (peak so far {peak:6.0f})  {what}")


async def rehearse(
    url: str,
    minutes: float,
    photos: list[Path],
    video: Path,
    goal: bool,
    pid: int,
    trace: bool = False,
    only: list[str] | None = None,
) -> list[Visitor]:
    from playwright.async_api import async_playwright

    start = time.monotonic()
    until = start + minutes * 60
    samples: list[tuple[float, float]] = []
    anon: list[float] = []
    at_peak: dict[str, float] = {}
    visitors = [Visitor("trainer"), Visitor("classifier" if goal else "teacher"), Visitor("viewer")]
    async with async_playwright() as pw:
        flags = [*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={video}"]
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=flags)
        acts = {
            "trainer": trainer(visitors[0], browser, url, until),
            "teacher": teacher(visitors[1], browser, url, until, photos, teaches=not goal),
            "viewer": viewer(visitors[2], browser, url, until, ("compare",) if goal else ("compare", "tour")),
        }
        for name in set(acts) - set(only or acts):
            acts.pop(name).close()  # a coroutine never awaited
        await asyncio.gather(sample_rss(pid, until, samples, anon, at_peak), *acts.values())
        await browser.close()
    if trace:
        print_trace(samples, start)
        bare = bare_torch_rss("RssAnon")
        print(
            f"  peak anonymous RSS {max(anon, default=0):.0f} MB; bare `import torch` {bare:.0f} MB (no mapped files)"
        )
        print_files(at_peak, bare_torch_rss_by_file())
    return visitors


def _read(cgroup: Path, name: str) -> str:
    return (cgroup / name).read_text().strip()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--cap-mb", type=int, default=1300)
    p.add_argument("--shots", type=Path, help="folder for screenshots of failed steps")
    p.add_argument(
        "--goal",
        action="store_true",
        help="the memory goal's visitors instead: one trains ResNet-18, one classifies photos, one reads Compare",
    )
    p.add_argument(
        "--only",
        nargs="+",
        choices=("trainer", "teacher", "viewer"),
        help="these visitors alone (teacher: the classifier with --goal)",
    )
    p.add_argument("--trace", action="store_true", help="print each step with the server's RSS, and its jumps")
    p.add_argument("--env", nargs="*", default=[], help="extra NAME=VALUE for the server's environment")
    p.add_argument("--memray", type=Path, help="record the server's allocations to this file (pip install memray)")
    args = p.parse_args()
    global SHOTS
    SHOTS = args.shots
    if os.geteuid() != 0 or not CGROUP_ROOT.is_dir():
        sys.exit("Needs root and the cgroup v1 memory controller at /sys/fs/cgroup/memory.")
    from PIL import Image
    from skimage import data

    cgroup = CGROUP_ROOT / f"lightbox-rehearsal-{os.getpid()}"
    cgroup.mkdir()
    (cgroup / "memory.limit_in_bytes").write_text(str(args.cap_mb << 20))
    print(f"load average before: {load_average()}; cap {args.cap_mb} MB; {args.minutes} minutes")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            photos = []
            for name in ("chelsea", "coffee", "astronaut"):
                photos.append(Path(tmp) / f"{name}.jpg")
                Image.fromarray(getattr(data, name)()).save(photos[-1])
            home = Path(tmp) / "home"
            home.mkdir()
            enter = ["sh", "-c", f'echo $$ > {cgroup}/cgroup.procs && exec "$@"', "sh"]
            proc, url, healthy = start_app(
                ROOT / "dashboard" / "app.py",
                home,
                {"LIGHTBOX_SHARING": "private", **dict(e.split("=", 1) for e in args.env)},
                prefix=enter,
                memray=args.memray,
            )
            try:
                scenes = [Image.open(photos[1]), Image.open(photos[0])]  # coffee, then the cat
                video = write_scenes(Path(tmp) / "scenes.y4m", *scenes)
                visitors = asyncio.run(
                    rehearse(url, args.minutes, photos, video, args.goal, proc.pid, args.trace, args.only)
                )
                died = proc.poll() is not None
                rss_peak = 0.0 if died else rss_mb(proc.pid, "VmHWM")
            finally:
                stop(proc)
        print(f"load average after: {load_average()}")
        peak = int(_read(cgroup, "memory.max_usage_in_bytes")) >> 20
        oom = dict(line.split() for line in _read(cgroup, "memory.oom_control").splitlines())
        print(f"  server healthy after {healthy:.1f} s; died during the rehearsal: {died}")
        bare = bare_torch_rss()
        print(f"  peak memory {peak} MB of {args.cap_mb} MB (the cgroup's count, page cache included)")
        print(f"  server peak RSS {rss_peak:.0f} MB; bare `import torch` {bare:.0f} MB: +{rss_peak - bare:.0f} MB")
        print(f"  limit hits (failcnt) {_read(cgroup, 'memory.failcnt')}, OOM kills {oom.get('oom_kill', '?')}")
        for v in visitors:
            print(
                f"  {v.name:<10} done {v.done:3d}, exception boxes {v.exceptions}, error boxes {v.errors}, "
                f"failures {len(v.failures)} {v.failures[:2]}"
            )
    finally:
        cgroup.rmdir()


if __name__ == "__main__":
    main()
