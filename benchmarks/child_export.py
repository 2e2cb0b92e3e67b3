"""A server's .pt2 and ONNX downloads written by a child process (core.child) against in the server itself.

One Lite0 transfer run is trained once on 200 shapes. Then, per round and format, alternating, a fresh process
set up as the dashboard is (its allocator, torch and the run's model loaded) builds one download with
`export_bytes(..., in_child=...)`, and reports the wall seconds, its own RSS after the download against before
it (what a server keeps), its own peak, and the child's peak RSS where there is one.
Run: python benchmarks/child_export.py [--rounds 2]

Measured 2026-12-05 on the shared 2-core machine (2 rounds, medians, load 0.3 at the start): .pt2 in the server
4.0 s, kept +195 MB, peak +223 MB; in a child 6.1 s (1.52x), the server kept +0 MB, peak +13 MB, the child's
peak 918 MB. ONNX in the server 8.3 s, kept +347 MB, peak +370 MB; in a child 10.9 s (1.31x), the server kept
+0 MB, peak +13 MB, the child's peak 1,066 MB (RSS, libtorch's pages shared with the server counted again).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
SERVER = """
import json, resource, sys, time
from core.memory import limit_malloc_arenas, map_big_blocks
limit_malloc_arenas(); map_big_blocks()  # as dashboard/app.py
import torch
from core import RunStore
from core.export import export_bytes
from core.warm import shared_predictor
def rss(field):
    return next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith(field))
store, run_id, fmt, in_child = RunStore(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "child"
shared_predictor(store, run_id)  # the run's model, as Classify or Compare loaded it
base = rss("VmRSS"); open("/proc/self/clear_refs", "w").write("5")
start = time.perf_counter()
size = len(export_bytes(store, run_id, fmt, in_child=in_child))
seconds = time.perf_counter() - start
child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "kept": rss("VmRSS") - base, "peak": rss("VmHWM") - base,
                  "child": child, "bytes": size}))
"""


def measure(home: str, run_id: str, fmt: str, where: str) -> dict[str, float]:
    env = {**os.environ, "LIGHTBOX_HOME": home, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", SERVER, home, run_id, fmt, where]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{fmt} ({where}) failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    from core import DataConfig, ModelConfig, RunConfig, RunStore, TrainConfig, train_run

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as home:
        config = RunConfig(DataConfig("shapes", samples=200), ModelConfig("lite0_transfer"), TrainConfig(epochs=1))
        run = train_run(replace(config, name="benchmark"), RunStore(home))
        for fmt in ("pt2", "onnx"):
            got: dict[str, list[dict[str, float]]] = {"server": [], "child": []}
            for _ in range(args.rounds):
                for where in got:
                    got[where].append(measure(home, run.id, fmt, where))
            s, c = ({k: statistics.median(r[k] for r in got[w]) for k in got[w][0]} for w in got)
            print(
                f"{fmt}: in the server {s['seconds']:.1f} s, kept {s['kept']:+.0f} MB, peak {s['peak']:+.0f} MB; "
                f"in a child {c['seconds']:.1f} s ({c['seconds'] / s['seconds']:.2f}x), server kept "
                f"{c['kept']:+.0f} MB, peak {c['peak']:+.0f} MB, the child's peak {c['child']:.0f} MB"
            )


if __name__ == "__main__":
    main()
