"""Data-parallel training: the shard arithmetic, and a real two-process torchrun job on the CPU (gloo)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core import RunStore, TrainingError, train_run
from core.parallel import launched_by_torchrun, rank_batch_size, shard_order
from tests.helpers import quick_config

ROOT = Path(__file__).resolve().parent.parent


def test_shards_are_disjoint_equal_and_cover_the_order_but_a_remainder() -> None:
    order = torch.randperm(103, generator=torch.Generator().manual_seed(0))
    shards = [shard_order(order, rank, 4) for rank in range(4)]
    assert [len(s) for s in shards] == [25, 25, 25, 25]  # 3 images sit this epoch out, so steps match
    together = torch.cat(shards)
    assert len(set(together.tolist())) == 100 and set(together.tolist()) <= set(order.tolist())


def test_the_ranks_batches_together_are_the_single_process_batch() -> None:
    order, world, batch = torch.randperm(64), 2, 16
    per_rank = rank_batch_size(batch, world)
    shards = [shard_order(order, rank, world) for rank in range(world)]
    for step in range(len(order) // batch):
        joint = torch.cat([s[step * per_rank : (step + 1) * per_rank] for s in shards])
        assert sorted(joint.tolist()) == sorted(order[step * batch : (step + 1) * batch].tolist())


def test_a_batch_that_does_not_split_over_the_processes_is_a_sentence() -> None:
    assert rank_batch_size(64, 4) == 16
    with pytest.raises(TrainingError, match="multiple of 3"):
        rank_batch_size(64, 3)


def test_a_plain_process_is_not_a_torchrun_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RANK", raising=False)
    assert not launched_by_torchrun()
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "2"), ("LOCAL_RANK", "0")):
        monkeypatch.setenv(name, value)
    assert launched_by_torchrun()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_torchrun_with_two_processes_records_one_run_as_good_as_one_process(tmp_path: Path) -> None:
    home = tmp_path / "shared"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    launcher += ["--master_addr", "127.0.0.1", "--master_port", str(_free_port())]
    command = ["-m", "core", "--home", str(home), "train", "--dataset", "digits", "--model", "cnn", "--epochs", "3"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(launcher + command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("run_id:") == 1  # only rank 0 reports

    (run,) = RunStore(home).list_runs()
    assert run.status == "finished" and run.metrics["world_size"] == 2 and run.device == "cpu"
    assert len(RunStore(home).history(run.id)) == 3
    single = train_run(quick_config(epochs=3), RunStore(tmp_path / "single"))
    assert abs(run.metrics["val_accuracy"] - single.metrics["val_accuracy"]) < 0.03
