"""One short check of Lightbox on a CUDA machine: devices, mixed precision, torchrun with nccl, inference.

Run on a GPU box with the requirements installed (about 1 to 3 minutes):
    python benchmarks/gpu_check.py
Try the script itself on a machine without a GPU (the same checks on the CPU: fp32 and bf16, gloo):
    python benchmarks/gpu_check.py --cpu-smoke
Each check prints one PASS, FAIL or SKIP line. With $OUT set, a JSON summary goes to $OUT/gpu_check.json.
The exit code is 1 when any check failed.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from core import DataConfig, ModelConfig, Predictor, RunConfig, RunStore, TrainConfig, TrainingError, train_run
from core.devices import supported_precisions

ROOT = Path(__file__).resolve().parent.parent
RESULTS: list[dict[str, Any]] = []


class Skip(Exception):
    """A check that does not apply to this machine or this version of Lightbox."""


def check(name: str, fn: Callable[[], dict[str, Any]]) -> None:
    """Run one check, print its PASS/FAIL/SKIP line and keep the result."""
    start = time.perf_counter()
    try:
        detail, status = fn(), "PASS"
    except Skip as exc:
        detail, status = {"reason": str(exc)}, "SKIP"
    except Exception as exc:  # every failure becomes one line, and the other checks still run
        detail, status = {"error": f"{type(exc).__name__}: {exc}"[-1500:]}, "FAIL"
    seconds = round(time.perf_counter() - start, 1)
    RESULTS.append({"check": name, "status": status, "seconds": seconds, **detail})
    print(f"{status} {name} ({seconds} s): {json.dumps(detail)}", flush=True)


def versions(device: str) -> dict[str, Any]:
    """Return torch, CUDA and device facts; fail when a GPU check finds no GPU."""
    info: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": device}
    if device == "cuda":
        if not torch.cuda.is_available():
            raise AssertionError("torch sees no CUDA device")
        info.update(
            name=torch.cuda.get_device_name(0),
            gpus=torch.cuda.device_count(),
            bf16=torch.cuda.is_bf16_supported(),
            cudnn=torch.backends.cudnn.version(),
        )
    info["precisions"] = supported_precisions(device)
    return info


def config(device: str, precision: str, epochs: int) -> RunConfig:
    train = TrainConfig(epochs=epochs, batch_size=64, lr=3e-3, device=device, precision=precision)
    return RunConfig(DataConfig(name="digits"), ModelConfig(name="cnn"), train, name=f"gpu check {precision}")


def train_in(device: str, precision: str, epochs: int, home: Path) -> dict[str, Any]:
    """Train digits with one precision; check accuracy and that the run records device and precision."""
    run = train_run(config(device, precision, epochs), RunStore(home))
    m = run.metrics
    found = {
        "val_accuracy": round(m["val_accuracy"], 4),
        "images_per_second": round(m["images_per_second"]),
        "train_seconds": m["train_seconds"],
        "recorded_device": run.device,
        "recorded_precision": run.config.train.precision,
    }
    assert run.status == "finished", f"status {run.status}: {run.error}"
    assert (run.device or "").startswith(device), f"run recorded device {run.device}, expected {device}"
    assert run.config.train.precision == precision, "run did not record its precision"
    assert m["val_accuracy"] > 0.9, f"validation accuracy only {m['val_accuracy']:.3f}"
    return found


def unsupported(device: str, home: Path) -> dict[str, Any]:
    """Check that a precision the device lacks is refused with a sentence, before any run is recorded."""
    missing = [p for p in ("fp32", "bf16", "fp16") if p not in supported_precisions(device)]
    if not missing:
        raise Skip(f"{device} supports every precision")
    try:
        train_run(config(device, missing[0], 1), RunStore(home))
    except TrainingError as exc:
        assert not RunStore(home).list_runs("running"), "a refused run was recorded"
        return {"refused": missing[0], "message": str(exc)}
    raise AssertionError(f"{missing[0]} on {device} was not refused")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def torchrun(device: str, precision: str, processes: int, home: Path) -> dict[str, Any]:
    """Train 2 epochs under torchrun (nccl on CUDA, gloo on CPU); check rank 0 alone recorded one run."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes)]
    command += ["--master_addr", "127.0.0.1", "--master_port", str(free_port()), "-m", "core", "--home", str(home)]
    command += ["train", "--device", device, "--precision", precision, "--epochs", "2", "--batch-size", "64"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-1500:]}"
    runs = RunStore(home).list_runs()
    assert len(runs) == 1, f"{len(runs)} runs recorded, expected 1"
    run = runs[0]
    assert run.status == "finished" and run.metrics.get("world_size") == processes, run.metrics
    assert (run.device or "").startswith(device), f"run recorded device {run.device}"
    return {"processes": processes, "val_accuracy": round(run.metrics["val_accuracy"], 4), "device": run.device}


def predictor_speed(device: str) -> dict[str, Any]:
    """Time the built-in ImageNet model on the device, where Predictor can be placed on one."""
    if "device" not in inspect.signature(Predictor.pretrained).parameters:
        raise Skip("Predictor.pretrained takes no device: inference runs on the CPU only")
    from PIL import Image
    from skimage import data as samples

    predictor = Predictor.pretrained("imagenet", device=device)  # type: ignore[call-arg]
    image = Image.fromarray(samples.chelsea())
    predictor.classify(image)  # warm-up
    latencies = sorted(predictor.classify(image).latency_ms for _ in range(20))
    return {"median_ms": round(latencies[10], 2), "top1": predictor.predict(image, 1)[0].label}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cpu-smoke", action="store_true", help="run the checks on the CPU (no GPU needed)")
    p.add_argument("--epochs", type=int, default=5)
    args = p.parse_args()
    device = "cpu" if args.cpu_smoke else "cuda"
    if args.cpu_smoke:
        torch.set_num_threads(1)  # a shared CPU runs a smoke test far faster without OpenMP threads waiting
    check("versions", lambda: versions(device))
    if RESULTS[-1]["status"] == "FAIL":
        return finish()
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("fp32", "bf16", "fp16"):
            if precision in supported_precisions(device):
                home = Path(tmp) / precision
                check(f"train {device} {precision}", lambda p=precision, h=home: train_in(device, p, args.epochs, h))
        check(f"refuse unsupported precision on {device}", lambda: unsupported(device, Path(tmp) / "refused"))
        processes = 2 if args.cpu_smoke or torch.cuda.device_count() > 1 else 1
        precision = "bf16" if "bf16" in supported_precisions(device) else "fp32"
        backend = "gloo" if args.cpu_smoke else "nccl"
        check(
            f"torchrun {processes} x {backend} {precision}",
            lambda: torchrun(device, precision, processes, Path(tmp) / "torchrun"),
        )
        check(f"Predictor imagenet on {device}", lambda: predictor_speed(device))
    return finish()


def finish() -> int:
    """Print the tally, write $OUT/gpu_check.json, and return the exit code."""
    failed = [r["check"] for r in RESULTS if r["status"] == "FAIL"]
    print(f"{len(RESULTS) - len(failed)} of {len(RESULTS)} checks passed or skipped; failed: {failed or 'none'}")
    if os.environ.get("OUT"):
        summary = {"results": RESULTS, "failed": failed}
        (Path(os.environ["OUT"]) / "gpu_check.json").write_text(json.dumps(summary, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
