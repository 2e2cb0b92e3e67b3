"""torch's optimizer steps three ways: its default, fused (`fused=True`), and fused inside backward (the last two
what core.training uses: make_optimizer fuses on CPU and CUDA; fit steps inside backward on the CPU,
core.backward_steps). Step time, peak memory and the weights, side by side.

Each round trains ResNet-18 on digits-sized batches (64 images of 1x8x8) for 25 steps in one fresh process per
way, alternating, with the dashboard's allocator settings (core.memory) and one thread, as a dashboard job runs.
Reported per optimizer: medians of the step's ms (`optimizer.step()` alone; inside backward it finds nothing
left to do), of the whole training step's ms (forward, backward and step), and of the process's peak RSS over a
bare `import torch`; and the sum of the weights at the end.
Run: python benchmarks/fused_optim.py [--rounds 2] [--optimizers adam adamw sgd]

Measured 2026-12-03 on the shared 2-core machine (2 rounds, load about 2; read the ratios): Adam's step
20.0 ms instead of 105.1, the whole training step 0.78x as long (274.6 vs 350.9 ms), the peak 15 MB lower;
AdamW 21.2 vs 116.0 ms, 0.76x, 15 MB lower; SGD with momentum 17.1 vs 25.5 ms, 1.00x, the same memory. The
weights differ from the default step's in the last bits only (the sum of ResNet-18's 11.2 M weights after 25
Adam steps: 4481.4782 vs 4481.4785).
Inside backward (added later the same day, --optimizers adam --rounds 4, load about 1-3): the whole training
step 246.6 vs 233.8 ms fused after backward (1.054x; default 302.0), the peak +211 vs +236 MB (default +253),
the weights identical to the fused step's (4481.4782).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORK = """
import json, sys, time
import torch, torch.nn.functional as F
from core.memory import limit_malloc_arenas, map_big_blocks
limit_malloc_arenas(); map_big_blocks()
from core.config import ModelConfig
from core.models.registry import build_model
from core.prepare import InputSpec
from contextlib import nullcontext
from core.backward_steps import steps_in_backward
from core.training import OPTIMIZERS
name, kind = sys.argv[1], sys.argv[2]
torch.set_num_threads(1)
torch.manual_seed(0)
spec = InputSpec(1, 8, 8, tuple(str(i) for i in range(10)), (0.5,), (0.5,))
model = build_model(ModelConfig("resnet18"), spec)
extra = {"momentum": 0.9} if name == "sgd" else {}
optimizer = OPTIMIZERS[name](model.parameters(), lr=1e-3, fused=(kind != "default") or None, **extra)
x, y = torch.rand(64, 1, 8, 8), torch.randint(0, 10, (64,))
steps, wholes = [], []
with steps_in_backward(optimizer) if kind == "inside" else nullcontext():
    for i in range(25):
        t0 = time.perf_counter()
        F.cross_entropy(model(x), y).backward()
        t1 = time.perf_counter()
        optimizer.step()
        optimizer.zero_grad()
        t2 = time.perf_counter()
        if i >= 5:  # the first steps allocate the optimizer's state
            steps.append(t2 - t1)
            wholes.append(t2 - t0)
hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
total = sum(float(p.detach().double().sum()) for p in model.parameters())
print(json.dumps({"step_ms": 1000 * sum(steps) / len(steps), "whole_ms": 1000 * sum(wholes) / len(wholes),
                  "peak_mb": hwm, "weights_sum": total}))
"""

BARE = "import torch; print(int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024)"


def run(name: str, kind: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", WORK, name, kind], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--optimizers", nargs="+", default=["adam", "adamw", "sgd"])
    args = parser.parse_args()
    bare = float(subprocess.run([sys.executable, "-c", BARE], capture_output=True, text=True, check=True).stdout)
    head = f"{'optimizer':10} {'step':8} {'step ms':>8} {'train step ms':>14} {'peak MB over torch':>19}"
    print(f"{head} {'weights sum':>13}")
    for name in args.optimizers:
        results: dict[str, list[dict[str, float]]] = {"default": [], "fused": [], "inside": []}
        for _ in range(args.rounds):
            for kind in results:
                results[kind].append(run(name, kind))
        for kind, runs in results.items():
            step, whole, peak = (statistics.median(r[k] for r in runs) for k in ("step_ms", "whole_ms", "peak_mb"))
            print(f"{name:10} {kind:8} {step:8.1f} {whole:14.1f} {peak - bare:+19.0f} {runs[-1]['weights_sum']:13.4f}")
        whole = {kind: statistics.median(r["whole_ms"] for r in runs) for kind, runs in results.items()}
        print(f"{name:10} whole training step: fused / default {whole['fused'] / whole['default']:.2f}x, ", end="")
        print(f"inside backward / fused {whole['inside'] / whole['fused']:.3f}x")


if __name__ == "__main__":
    main()
