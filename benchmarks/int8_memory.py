"""Making a run's int8 copy in a server process: memory-bounded calibration against the settings before.

One Lite0 transfer run is trained once on the shapes (one epoch). Then, alternating, a fresh process set up as
the dashboard is (its allocator) makes the run's int8 copy with `quantize_run`, with today's calibration or
with the settings before (every batch's 100,000 samples per activation kept, 128 images for bias correction),
and reports the seconds, peak RSS over the process before it, RSS after (before and after malloc_trim) and the
copy's top-1 agreement with fp32 on the 800 validation images.
Run: python benchmarks/int8_memory.py [--rounds 1]

Measured 2026-12-05 on the shared 2-core machine (1 round, load 1.5): before 61.7 s, peak +1,267 MB, +686 MB
after (+56 MB after malloc_trim), agreement 99.12%; now 48.1 s (0.78x), peak +525 MB, +256 MB after (+56 MB
trimmed), agreement 99.38%. The Ship page makes the copy in a child process (core.child) since.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import json, sys, time
from core.memory import limit_malloc_arenas, map_big_blocks, release_free_memory
limit_malloc_arenas(); map_big_blocks()  # as dashboard/app.py
import torch
torch.set_num_threads(1)
import core.quantize_calibrate as calibration
if sys.argv[2] == "before":
    calibration.KEPT_SAMPLES, calibration.CORRECTION_IMAGES = 10**12, 128
from core import RunStore
from core.quantize_runs import quantize_run
def rss(field):
    return next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith(field))
store = RunStore(sys.argv[1])
base = rss("VmRSS"); open("/proc/self/clear_refs", "w").write("5")
start = time.perf_counter()
run = quantize_run(store, sys.argv[3])
seconds, after = time.perf_counter() - start, rss("VmRSS") - base
release_free_memory()
print(json.dumps({"seconds": seconds, "peak": rss("VmHWM") - base, "after": after, "trimmed": rss("VmRSS") - base,
                  "agreement": run.metrics["agreement"]}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "LIGHTBOX_HOME": home, "OMP_NUM_THREADS": "1"}
        train = ["train", "--model", "lite0_transfer", "--dataset", "shapes", "--epochs", "1"]
        subprocess.run([sys.executable, "-m", "core", *train], cwd=ROOT, env=env, check=True, capture_output=True)
        sys.path.insert(0, str(ROOT))
        from core import RunStore

        run_id = RunStore(home).list_runs()[0].id
        for _ in range(args.rounds):
            for which in ("before", "now"):
                cmd = [sys.executable, "-c", CHILD, home, which, run_id]
                out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
                if out.returncode:
                    raise SystemExit(out.stderr[-2000:])
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"{which}: {r['seconds']:.1f} s, peak {r['peak']:+.0f} MB, after {r['after']:+.0f} MB "
                    f"({r['trimmed']:+.0f} MB trimmed), agreement {r['agreement']:.2%}"
                )


if __name__ == "__main__":
    main()
