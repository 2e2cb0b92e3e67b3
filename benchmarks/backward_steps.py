"""Optimizer steps inside backward (core.backward_steps) against steps after it: step time and peak memory.

Each round trains ResNet-18 on digits-sized batches (64 images of 1x8x8) with fused Adam for 30 steps in two
fresh processes, stepping after backward and inside it, alternating, with the dashboard's allocator settings
(core.memory) and one thread, as a dashboard job runs. Reported: medians of the whole training step's ms
(forward, backward, step) over the last 25 steps, of the process's peak RSS over a bare `import torch`, and the
sum of the weights at the end (the two must be equal: the same steps, in another order in time).
Run: python benchmarks/backward_steps.py [--rounds 3]

Measured 2026-12-03 on the shared 2-core machine (--rounds 4, twice, load about 1; read the ratios): a training
step 244.0 vs 227.2 ms (1.07x) and 245.9 vs 232.5 ms (1.06x); peak +215 vs +235 and +215 vs +234 MB; the same
weights (sum 4472.7395 both ways).
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
from contextlib import nullcontext
import torch, torch.nn.functional as F
from core.memory import limit_malloc_arenas, map_big_blocks
limit_malloc_arenas(); map_big_blocks()
from core.backward_steps import steps_in_backward
from core.config import ModelConfig
from core.models.registry import InputSpec, build_model
from core.training import OPTIMIZERS
inside = sys.argv[1] == "inside"
torch.set_num_threads(1)
torch.manual_seed(0)
spec = InputSpec(1, 8, 8, tuple(str(i) for i in range(10)), (0.5,), (0.5,))
model = build_model(ModelConfig("resnet18"), spec)
optimizer = OPTIMIZERS["adam"](model.parameters(), lr=1e-3, fused=True)
x, y = torch.rand(64, 1, 8, 8), torch.randint(0, 10, (64,))
wholes = []
with steps_in_backward(optimizer) if inside else nullcontext():
    for i in range(30):
        t0 = time.perf_counter()
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()  # inside backward: finds no gradient left, as core.training.fit calls it anyway
        if i >= 5:  # the first steps allocate the optimizer's state
            wholes.append(time.perf_counter() - t0)
hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
total = sum(float(p.detach().double().sum()) for p in model.parameters())
print(json.dumps({"whole_ms": 1000 * sorted(wholes)[len(wholes) // 2], "peak_mb": hwm, "weights_sum": total}))
"""

BARE = "import torch; print(int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024)"


def run(kind: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", WORK, kind], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bare = float(subprocess.run([sys.executable, "-c", BARE], capture_output=True, text=True, check=True).stdout)
    results: dict[str, list[dict[str, float]]] = {"after": [], "inside": []}
    for _ in range(args.rounds):
        for kind in results:
            results[kind].append(run(kind))
    print(f"{'step':8} {'train step ms':>14} {'peak MB over torch':>19} {'weights sum':>13}   (each round)")
    for kind, runs in results.items():
        whole, peak = (statistics.median(r[k] for r in runs) for k in ("whole_ms", "peak_mb"))
        each = " ".join(f"{r['whole_ms']:.1f}/{r['peak_mb'] - bare:+.0f}" for r in runs)
        print(f"{kind:8} {whole:14.1f} {peak - bare:+19.0f} {runs[-1]['weights_sum']:13.4f}   ({each})")
    ratio = statistics.median(r["whole_ms"] for r in results["inside"]) / statistics.median(
        r["whole_ms"] for r in results["after"]
    )
    print(f"inside / after, whole training step: {ratio:.3f}x")


if __name__ == "__main__":
    main()
