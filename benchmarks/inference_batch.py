"""Passes without gradients in batches sized by core.batching, against the fixed batches used before.

Each case runs in a fresh process under the server's allocator (core.memory), one torch thread, and reports
the wall seconds of the pass and its peak RSS over the process with the model loaded. Alternating, per round:
- a Lite0 transfer model over the shapes' 800 validation images (what Compare's per-image answers and every
  epoch's evaluation of a fine-tuned Lite0 run): before in batches of 512;
- features of 1,000 shapes for a frozen Lite0 (a transfer run's first step): before 32;
- the built-in Lite0 and its int8 copy over the 216 check photos (quantizing it): before 32;
- ResNet-18 and the default CNN over the digits' 360 validation images: before 512.
Run: python benchmarks/inference_batch.py [--rounds 2] [--only NAME]

Measured 2026-12-05 on the shared 2-core machine (2 rounds, medians, load 1.3 at the start), before -> now:
Lite0 transfer over 800 shapes, batch 512 -> 2: 34.92 -> 19.83 s (0.57x), peak +6,469 -> +24 MB; Lite0
features of 1,000 shapes, 32 -> 2: 24.34 -> 17.84 s (0.73x), +310 -> +17 MB; the built-in Lite0 and its int8
copy over 216 photos, 32 -> 3: 6.52 -> 3.82 s (0.59x), +276 -> +8 MB; ResNet-18 and the CNN on 360 digits keep
one batch of 360: 1.01x and 0.95x, the same peaks (+28 and +11 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETUP = """
import json, sys, time
from core.memory import limit_malloc_arenas, map_big_blocks
limit_malloc_arenas(); map_big_blocks()
import torch
torch.set_num_threads(1)
from core.batching import inference_batch
from core.data.registry import load_dataset
from core.models.registry import build_model
from core.train_runs import input_spec_for
def rss(field):
    return next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith(field))
"""
CASES = {  # name: (code that defines model, images, work(batch) and `before`, the batch used before)
    "Lite0 transfer, 800 shapes": (
        "d = load_dataset('shapes'); images = d.images[3200:]\n"
        "model = build_model('lite0_transfer', input_spec_for(d))\n"
        "from core.training import infer\n"
        "work = lambda b: infer(model, images, b)\n"
        "before = 512"
    ),
    "Lite0 features, 1,000 shapes": (
        "d = load_dataset('shapes').subset(torch.arange(1000)); images = d.images\n"
        "model = build_model('lite0_transfer', input_spec_for(d))\n"
        "from core.features import extract_features\n"
        "work = lambda b: extract_features(model, d, b)\n"
        "before = 32"
    ),
    "built-in Lite0 fp32 vs int8, 216 photos": (
        "from core.data.photos import check_photos\n"
        "from core.inference import Predictor, prepare_image\n"
        "from core.quantize import agreement, quantize_model\n"
        "fp32 = Predictor.pretrained('imagenet')\n"
        "images = torch.cat([prepare_image(p, fp32.spec) for p in check_photos()])\n"
        "s = fp32.spec\n"
        "calib = images[:32].split(8)\n"
        "int8 = quantize_model(fp32.model, (s.channels, s.height, s.width), calib)\n"
        "model = fp32.model\n"
        "work = lambda b: agreement(fp32.model, int8, images, b)\n"
        "before = 32"
    ),
    "ResNet-18, 360 digits": (
        "d = load_dataset('digits'); images = d.images[:360]\n"
        "model = build_model('resnet18', input_spec_for(d))\n"
        "from core.training import infer\n"
        "work = lambda b: infer(model, images, b)\n"
        "before = 512"
    ),
    "default CNN, 360 digits": (
        "d = load_dataset('digits'); images = d.images[:360]\n"
        "model = build_model('cnn', input_spec_for(d))\n"
        "from core.training import infer\n"
        "work = lambda b: infer(model, images, b)\n"
        "before = 512"
    ),
}
MEASURE = """
batch = before if sys.argv[1] == 'before' else inference_batch(model, images)
work(min(batch, 2))  # load each kernel once, at a batch that adds nothing to the peak
base = rss('VmRSS'); open('/proc/self/clear_refs', 'w').write('5')
start = time.perf_counter(); work(batch); seconds = time.perf_counter() - start
print(json.dumps({'batch': batch, 'seconds': seconds, 'peak': rss('VmHWM') - base}))
"""


def run(case: str, which: str) -> dict[str, float]:
    """Run one case in a fresh process with the batch of `which` (before or now); return what it measured."""
    code = SETUP + CASES[case] + MEASURE
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code, which], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{case} ({which}) failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--only", choices=list(CASES))
    args = p.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for case in [args.only] if args.only else list(CASES):
        got: dict[str, list[dict[str, float]]] = {"before": [], "now": []}
        for _ in range(args.rounds):
            for which in ("before", "now"):
                got[which].append(run(case, which))
        b, n = ({k: statistics.median(r[k] for r in got[w]) for k in ("batch", "seconds", "peak")} for w in got)
        print(
            f"{case}: batch {b['batch']:.0f} -> {n['batch']:.0f}; {b['seconds']:.2f} -> {n['seconds']:.2f} s "
            f"({n['seconds'] / b['seconds']:.2f}x); peak {b['peak']:+.0f} -> {n['peak']:+.0f} MB"
        )


if __name__ == "__main__":
    main()
