"""Measure the live camera end to end: answers per second and frame-to-answer latency, against the snapshot path.

Starts `streamlit run dashboard/app.py` headless over a temporary LIGHTBOX_HOME and drives Debian's Chromium
with a fake webcam that films the coffee photo for 3 s, then the cat for 3 s, in a loop. Latency is timed by
the camera element itself: from sending a frame to the server's answer arriving in the page (the round trip
through the fragment). Measured for the built-in ImageNet model and for a model taught on the two photos
(20-epoch Lite0 head, as Teach trains), then the snapshot path (Take Photo -> the answer on screen). The
server's RSS (/proc VmRSS, process and children) is sampled every 5 s while it streams; the load average
says how busy the shared machine was, so read the ratios rather than the absolute figures.

With --baseline REV (a git revision, e.g. main) it instead streams the built-in model from two servers side by
side, this checkout's and REV's, in alternating rounds, and adds what the load average moves least: the server's
CPU time per answer, and the frames whose answer never came (`--reruns` moves the model's top-k slider every 1.5 s,
so the whole page reruns under the camera, as a visitor's clicks do). With --caps N M it compares servers of this
checkout whose LIGHTBOX_CAMERA_FPS is N and M the same way. Both modes print the CPU-seconds per second of
streaming that the server and Chromium spend, and Chromium's CPU per answer.

Run: python benchmarks/live_camera.py [--seconds 20 --rss-minutes 3]
     python benchmarks/live_camera.py --baseline main [--rounds 3 --seconds 15 --reruns --video synthetic]
     python benchmarks/live_camera.py --caps 8 4 [--rounds 3 --seconds 15]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageEnhance  # noqa: E402
from skimage import data  # noqa: E402

from tests.helpers.browser import CHROMIUM, CHROMIUM_FLAGS, start_server  # noqa: E402
from tests.helpers.images import write_scenes  # noqa: E402

CAMERA = ".lightbox-camera"


def rss_mb(pid: int) -> float:
    """Return the resident memory of a process and its children, in MB."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        kids = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return [k for kid in kids for k in (kid, *_children(kid))]


def teach_run(home: Path) -> str:
    """Train a Teach-style model on variants of the two photos in `home`; return its run name."""
    os.environ["LIGHTBOX_HOME"] = str(home)
    from core import (
        DataConfig,
        ModelConfig,
        RunConfig,
        RunStore,
        TrainConfig,
        dataset_from_samples,
        save_user_dataset,
        train_run,
    )

    examples: dict[str, list[bytes]] = {}
    for name, photo in (("coffee", data.coffee()), ("cat", data.chelsea())):
        image = Image.fromarray(photo)
        examples[name] = []
        for i in range(8):
            crop = image.crop((i * 10, i * 8, image.width - i * 6, image.height - i * 5))
            buf = io.BytesIO()
            ImageEnhance.Brightness(crop).enhance(0.8 + 0.05 * i).save(buf, format="JPEG")
            examples[name].append(buf.getvalue())
    dataset = dataset_from_samples("bench-taught", examples)
    save_user_dataset(dataset)
    config = RunConfig(
        data=DataConfig(name=dataset.name, val_fraction=0.25),
        model=ModelConfig("lite0_transfer"),
        train=TrainConfig(epochs=20, batch_size=16, lr=3e-3),
        name="taught: coffee, cat",
    )
    train_run(config, RunStore(home))
    return config.name


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) a process has used so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def chromium_cpu_seconds() -> float:
    """Return the CPU time the running Chromium processes have used so far (all of this machine's)."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if "chromium" in Path(f"/proc/{pid}/cmdline").read_text():
                total += cpu_seconds(int(pid))
        except OSError:  # gone meanwhile
            pass
    return total


_COUNTS = "r => ({answers: r.__lightbox.answers, sent: r.__lightbox.seq, lat: r.__lightbox.latencies.slice()})"


def stream(page, seconds: float, pid: int | None = None, reruns: bool = False) -> dict[str, float]:
    """Let the camera stream for `seconds` after its first answer; return answers/s and latency figures.

    With `pid`, also the server's CPU ms per answer; with `reruns`, the top-k slider moves every 1.5 s.
    """
    camera = page.locator(CAMERA).first
    camera.wait_for(timeout=180_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stBidiComponentIsolated]')].some((h) => {"
        " const r = h.shadowRoot && h.shadowRoot.querySelector('.lightbox-camera');"
        " return r && r.__lightbox && r.__lightbox.answers >= 3; })",
        timeout=180_000,
    )
    start, cpu0, t0 = camera.evaluate(_COUNTS), cpu_seconds(pid) if pid else 0.0, time.monotonic()
    browser0 = chromium_cpu_seconds()
    for i in range(int(seconds / 1.5) if reruns else 0):
        page.wait_for_timeout(1500)
        page.get_by_role("slider").first.press("ArrowLeft" if i % 2 else "ArrowRight")  # a page rerun
    page.wait_for_timeout(max(0.0, seconds - (time.monotonic() - t0)) * 1000)
    end, elapsed = camera.evaluate(_COUNTS), time.monotonic() - t0
    browser_cpu = chromium_cpu_seconds() - browser0
    new = end["answers"] - start["answers"]
    lat = (end["lat"][-new:] if new > 0 else []) or [float("nan")]  # none: the element was drawn anew
    return {
        "answers_per_s": new / elapsed,
        "median_ms": statistics.median(lat),
        "p90_ms": sorted(lat)[int(0.9 * (len(lat) - 1))],
        "answers": new,
        "lost": (end["sent"] - start["sent"]) - new,  # sent, never answered (give or take the one in flight)
        "server_ms": (cpu_seconds(pid) - cpu0) * 1000 / max(new, 1) if pid else float("nan"),
        "server_cpu_per_s": (cpu_seconds(pid) - cpu0) / elapsed if pid else float("nan"),
        "chromium_cpu_per_s": browser_cpu / elapsed,
        "chromium_ms": browser_cpu * 1000 / max(new, 1),
    }


def side_by_side(
    baseline: str | None, caps: list[float], rounds: int, seconds: float, reruns: bool, video_kind: str
) -> None:
    """Stream the built-in model from this checkout's server and `baseline`'s (or one server per frame rate
    cap), alternately; print each."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        if baseline:
            subprocess.run(["git", "worktree", "add", "--detach", str(old), baseline], cwd=ROOT, check=True)
            wanted = [("this checkout", ROOT, {}), (f"baseline {baseline}", old, {})]
        else:
            wanted = [(f"{cap:g} frames/s at most", ROOT, {"LIGHTBOX_CAMERA_FPS": f"{cap:g}"}) for cap in caps]
        video = write_scenes(Path(tmp) / "scenes.y4m", Image.fromarray(data.coffee()), Image.fromarray(data.chelsea()))
        # Chromium's own test pattern moves every frame, so the answer changes with every frame, as a real webcam's
        camera = [] if video_kind == "synthetic" else [f"--use-file-for-fake-video-capture={video}"]
        servers = {}
        try:
            for i, (name, root, env) in enumerate(wanted):
                (Path(tmp) / f"home{i}").mkdir()
                servers[name] = start_server(Path(tmp) / f"home{i}", env=env, root=root)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, *camera])
                results: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
                loads = [os.getloadavg()[0]]
                for _ in range(rounds):
                    for name, (proc, url) in servers.items():
                        context = browser.new_context(viewport={"width": 1280, "height": 720}, permissions=["camera"])
                        page = context.new_page()
                        page.set_default_timeout(120_000)
                        page.goto(f"{url}/classify")
                        results[name].append(stream(page, seconds, proc.pid, reruns))
                        context.close()
                        loads.append(os.getloadavg()[0])
                browser.close()
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(30)
            if baseline:
                subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
    print(f"machine: {os.cpu_count()} cores, load average {min(loads):.1f} to {max(loads):.1f} (1-minute)")
    what = "the photos, 3 s each" if video_kind == "photos" else "Chromium's moving test pattern"
    reran = ", the page rerun every 1.5 s" if reruns else ""
    print(f"{rounds} rounds of {seconds:g} s each of {what}, alternating{reran}")
    print(
        f"{'server':24} {'answers/s':>9} {'median ms':>9} {'p90 ms':>7} {'server CPU ms/answer':>21} {'lost':>5}"
        f" {'server CPU-s/s':>14} {'Chromium CPU-s/s':>16} {'Chromium CPU ms/answer':>22}"
    )
    for name, runs in results.items():
        rate, lost = statistics.mean(r["answers_per_s"] for r in runs), sum(r["lost"] for r in runs)
        median, p90, cpu = (statistics.median(r[k] for r in runs) for k in ("median_ms", "p90_ms", "server_ms"))
        server, browser = (statistics.mean(r[k] for r in runs) for k in ("server_cpu_per_s", "chromium_cpu_per_s"))
        per_answer = statistics.median(r["chromium_ms"] for r in runs)
        print(
            f"{name:24} {rate:9.2f} {median:9.0f} {p90:7.0f} {cpu:21.0f} {lost:5d} {server:14.2f} {browser:16.2f}"
            f" {per_answer:22.0f}"
        )


def snapshot(page, shots: int = 3) -> dict[str, float]:
    """Time Take Photo -> the answer on screen on Classify's snapshot tab, `shots` times."""
    page.get_by_role("tab", name="Take a snapshot").click()
    times = []
    for _ in range(shots):
        widget = page.locator('[data-testid="stCameraInput"]').first
        widget.locator("video").wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # the stream plays
        t0 = time.monotonic()
        widget.get_by_role("button", name="Take Photo").click()
        page.get_by_text("What the model sees").wait_for(timeout=120_000)
        times.append((time.monotonic() - t0) * 1000)
        widget.get_by_role("button", name="Clear photo").click()
        page.get_by_text("What the model sees").wait_for(state="detached", timeout=60_000)
    return {"median_ms": statistics.median(times), "answers_per_s": 1000 / statistics.median(times)}


def choose_model(page, label: str) -> None:
    page.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option").filter(has_text=label).first.click()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="streaming time per model")
    parser.add_argument("--rss-minutes", type=float, default=3, help="streaming time for the memory trace")
    parser.add_argument("--baseline", help="a git revision to stream side by side with this checkout instead")
    parser.add_argument("--caps", type=float, nargs="+", help="LIGHTBOX_CAMERA_FPS values to stream side by side")
    parser.add_argument("--rounds", type=int, default=3, help="with --baseline or --caps: rounds per server")
    parser.add_argument("--reruns", action="store_true", help="with --baseline or --caps: rerun the page every 1.5 s")
    parser.add_argument(
        "--video",
        choices=("photos", "synthetic"),
        default="photos",
        help="with --baseline or --caps: the fake webcam films the two photos, or Chromium's moving test pattern",
    )
    args = parser.parse_args()
    if args.baseline or args.caps:
        side_by_side(args.baseline, args.caps or [], args.rounds, args.seconds, args.reruns, args.video)
        return
    from playwright.sync_api import sync_playwright

    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        taught = teach_run(home)  # the run's name, as the model menu shows it
        video = write_scenes(Path(tmp) / "scenes.y4m", Image.fromarray(data.coffee()), Image.fromarray(data.chelsea()))
        proc, url = start_server(home)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={video}"]
                )
                page = browser.new_context(viewport={"width": 1280, "height": 720}, permissions=["camera"]).new_page()
                page.set_default_timeout(120_000)
                page.goto(f"{url}/classify")
                results = {"built-in ImageNet Lite0, live": stream(page, args.seconds)}
                choose_model(page, taught)
                page.wait_for_timeout(2000)
                results["taught 2-class model, live"] = stream(page, args.seconds)
                choose_model(page, "EfficientNet-Lite0")
                results["built-in, snapshot (Take Photo)"] = snapshot(page)
                page.get_by_role("tab", name="Live camera").click()
                rss = [rss_mb(proc.pid)]
                deadline = time.monotonic() + args.rss_minutes * 60
                answers0 = page.locator(CAMERA).first.evaluate("r => r.__lightbox.answers")
                while time.monotonic() < deadline:
                    page.wait_for_timeout(5000)
                    rss.append(rss_mb(proc.pid))
                answers = page.locator(CAMERA).first.evaluate("r => r.__lightbox.answers") - answers0
                browser.close()
        finally:
            proc.terminate()
            proc.wait(30)
    load1 = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load0[0]:.1f} at start, {load1[0]:.1f} at the end")
    print(f"{'path':34} {'answers/s':>9} {'median ms':>9} {'p90 ms':>8}")
    for name, r in results.items():
        print(f"{name:34} {r['answers_per_s']:9.2f} {r['median_ms']:9.0f} {r.get('p90_ms', float('nan')):8.0f}")
    live, snap = results["built-in ImageNet Lite0, live"], results["built-in, snapshot (Take Photo)"]
    print(f"live answers per snapshot answer (same model): {live['answers_per_s'] / snap['answers_per_s']:.1f}x")
    third = max(1, len(rss) // 3)
    print(
        f"server RSS over {args.rss_minutes:g} min of streaming ({answers} answers): start {rss[0]:.0f} MB, "
        f"first third mean {statistics.mean(rss[:third]):.0f} MB, "
        f"last third mean {statistics.mean(rss[-third:]):.0f} MB, max {max(rss):.0f} MB"
    )


if __name__ == "__main__":
    main()
