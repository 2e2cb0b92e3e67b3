"""How long the private-mode sweep takes, and that it leaves nothing of a swept workspace behind.

Makes N idle workspaces and N active ones in a temporary home, each with one run (a 1 MB weights file, a
row and 10 epoch rows) and one imported dataset (the real 8-image format), plus two server runs; then
times the sweep that removes the idle half, and a second sweep that finds nothing to do (the cost paid
once a minute on a busy server).

Run: python benchmarks/workspace_sweep.py [--workspaces 50]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=50, help="idle workspaces (as many active ones too)")
    n = parser.parse_args().workspaces
    home = Path(tempfile.mkdtemp(prefix="lightbox-sweep-"))
    os.environ["LIGHTBOX_HOME"] = str(home)
    from core import RunConfig, RunStore
    from core.data.samples import dataset_from_samples
    from core.data.user import save_user_dataset
    from core.sharing import new_workspace
    from core.workspaces import Workspaces

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buf, format="PNG")
    dataset = dataset_from_samples("pets", {"a": [buf.getvalue()] * 4, "b": [buf.getvalue()] * 4})
    store, spaces = RunStore(home), Workspaces(home)
    for _ in range(2):
        store.create_run(RunConfig(name="server run"))
    now, idle, active = time.time(), [], []
    for i in range(2 * n):
        ws = new_workspace()
        run = store.scoped(ws).create_run(RunConfig(name=f"run {i}"))
        (store.run_dir(run.id) / "weights.pt").write_bytes(os.urandom(1_000_000))
        for epoch in range(1, 11):
            store.log_epoch(run.id, {"epoch": epoch, "loss": 0.1})
        save_user_dataset(dataset, owner=ws)
        (idle if i % 2 else active).append(ws)
        spaces.touch(ws, now + (0 if i % 2 else 7200))
    started = time.perf_counter()
    gone = spaces.sweep(3600, now=now + 7200)
    took = time.perf_counter() - started
    started = time.perf_counter()
    again = spaces.sweep(3600, now=now + 7200)
    idle_took = time.perf_counter() - started
    left = {r.owner for r in store.list_runs()}
    assert sorted(gone) == sorted(idle) and again == [] and not left & set(idle) and len(store.list_runs()) == n + 2
    assert not any((home / "workspaces" / ws).exists() for ws in idle)
    print(f"sweep removing {n} of {2 * n} workspaces (runs, 1 MB weights, datasets): {took:.3f} s")
    print(f"sweep with nothing to remove ({n} workspaces left): {idle_took * 1000:.1f} ms")


if __name__ == "__main__":
    main()
