"""What capping torch's threads (core.devices.cap_threads) does to a server that trains and answers pages at once.

One process, like the dashboard server: a background training job (JobManager, ResNet-18 on digits) runs while
the main thread does page-like work (classify one image with a small CNN, plus some Python) every 0.1 s.
Compared: torch threads = all cores (torch's default) and all cores but one (the cap the dashboard sets).
Prints the page work's median and 90th-percentile latency and the job's training images/s.

Run: python benchmarks/thread_cap.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from core import DataConfig, JobManager, ModelConfig, RunConfig, RunStore, TrainConfig
from core.devices import cap_threads


def _page_work(model: torch.nn.Module, image: torch.Tensor) -> float:
    began = time.perf_counter()
    with torch.inference_mode():
        model(image)  # (1, 10)
    sum(i * i for i in range(20_000))  # a script rerun's Python share
    return (time.perf_counter() - began) * 1000


def trial(threads: int, seconds: float) -> tuple[float, float, float]:
    """Return (median ms, p90 ms, training images/s) with torch capped to `threads`."""
    cap_threads(threads)
    page_model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    ).eval()
    image = torch.rand(1, 3, 128, 128)  # (B, C, H, W)
    config = RunConfig(DataConfig("digits"), ModelConfig("resnet18"), TrainConfig(epochs=1000, batch_size=64))
    with tempfile.TemporaryDirectory() as home:
        jobs = JobManager(RunStore(home), max_running=1)
        job = jobs.start(config)
        while jobs.snapshot(job).batch < 2:
            time.sleep(0.05)
        latencies, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            latencies.append(_page_work(page_model, image))
            time.sleep(0.1)
        snap = jobs.snapshot(job)
        jobs.stop(job)
        jobs.wait(job, 60)
    done = ((snap.epoch - 1) * snap.batches + snap.batch) * 64
    elapsed = time.time() - snap.started
    return statistics.median(latencies), statistics.quantiles(latencies, n=10)[-1], done / elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0)
    args = p.parse_args()
    cores = os.cpu_count() or 1
    print(f"{cores} cores; page work while a ResNet-18 job trains")
    print(f"{'torch threads':>14} {'median ms':>10} {'p90 ms':>8} {'train img/s':>12}")
    for threads in [*sorted({cores, max(1, cores - 1)}, reverse=True), cores]:  # the default twice: drift
        median, p90, speed = trial(threads, args.seconds)
        print(f"{threads:>14} {median:>10.1f} {p90:>8.1f} {speed:>12.0f}")


if __name__ == "__main__":
    main()
