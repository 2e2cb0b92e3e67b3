"""A CPU training job that cannot fit in memory is refused before it starts, saying what would fit."""

from __future__ import annotations

import gc
import weakref
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from core import DataConfig, ModelConfig, RunConfig, RunStore, TrainConfig, train_run
from core.errors import LimitError
from core.job_memory import JobMemory, check_job_memory, estimate_job_memory, free_memory_mb, memory_budget_mb
from core.jobs import JobManager
from core.models.registry import build_model
from core.prepare import InputSpec
from core.train_runs import prepare_run
from tests.helpers.pages import button, open_page


def _saved_mb(model: torch.nn.Module, x: torch.Tensor) -> float:
    """What autograd really keeps for a training batch x, the weights left out (MB)."""
    weights = {p.data_ptr() for p in model.parameters()}
    kept: dict[int, int] = {}
    held: list[torch.Tensor] = []

    def pack(t: torch.Tensor) -> int:
        if t.untyped_storage().data_ptr() not in weights:
            kept[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        held.append(t)
        return len(held) - 1

    with torch.autograd.graph.saved_tensors_hooks(pack, held.__getitem__):
        model.train()(x)
    held.clear()
    return sum(kept.values()) / 2**20


@pytest.mark.parametrize(("name", "side"), [("cnn", 32), ("resnet18", 32), ("resnet18", 96), ("simple", 96)])
def test_the_estimate_is_what_a_batch_keeps_and_grows_with_it(name: str, side: int) -> None:
    """Measured on one image (from two smaller ones past 64 pixels), it matches what a real batch keeps."""
    spec = InputSpec(channels=3, height=side, width=side, classes=("a", "b", "c"), mean=(0.5,) * 3, std=(0.5,) * 3)
    model = build_model(name, spec)
    need = estimate_job_memory(model, 3, side, side, TrainConfig(batch_size=2, optimizer="adam"))
    assert need.per_image_mb * 2 == pytest.approx(_saved_mb(model, torch.rand(2, 3, side, side)), rel=0.05)
    weights = sum(p.numel() for p in model.parameters()) * 4 / 2**20
    assert need.weights_mb == pytest.approx(weights * 4)  # weights, gradients and Adam's two moments
    assert need.total_mb == pytest.approx(need.weights_mb + 2 * need.per_image_mb)
    assert model.training  # the estimate left the model as it found it
    assert all(p.grad is None for p in model.parameters())


def test_a_job_too_big_for_the_memory_is_refused_before_anything_is_recorded(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIGHTBOX_JOB_MB", "300")
    config = RunConfig(DataConfig("shapes"), ModelConfig("lite0_finetune"), TrainConfig(epochs=1, batch_size=64))
    with pytest.raises(LimitError) as refused:
        train_run(config, store)
    text = str(refused.value)
    assert text.startswith("In batches of 64, Pretrained EfficientNet-Lite0, fine-tuned needs about 4.8 GB")
    assert "(300 MB)" in text and "At most 3 images a batch fit" in text  # 75 MB an image, 52 MB of weights
    assert store.list_runs() == []

    jobs = JobManager(store)  # the dashboard's path: the job ends with that sentence
    snap = jobs.wait(jobs.start(config), timeout=60)
    assert snap.status == "failed" and snap.error == text
    assert store.list_runs() == []

    monkeypatch.setenv("LIGHTBOX_JOB_MB", "600")  # room for a smaller batch: the job gets ready to train
    prepared = prepare_run(replace(config, train=replace(config.train, batch_size=4)))
    assert prepared.model.training and all(p.grad is None for p in prepared.model.parameters())


def test_no_image_fits_says_so() -> None:
    with pytest.raises(LimitError, match="Choose a lighter model: not even one image a batch fits"):
        check_job_memory(JobMemory(weights_mb=250.0, per_image_mb=75.0, batch_size=8), "a big one", budget_mb=300.0)
    check_job_memory(JobMemory(weights_mb=100.0, per_image_mb=20.0, batch_size=8), "a small one", budget_mb=300.0)


def test_free_memory_is_the_containers_when_it_has_less(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "self").mkdir(parents=True)
    (proc / "meminfo").write_text("MemTotal:  16000000 kB\nMemAvailable:   8388608 kB\n")
    (proc / "self" / "cgroup").write_text("0::/app\n")
    assert free_memory_mb(proc, cgroup) == 8192  # no container limit: the machine's
    (cgroup / "app").mkdir(parents=True)
    (cgroup / "app" / "memory.max").write_text(f"{1 << 30}\n")  # a 1 GB container using 700 MB, 100 MB page cache
    (cgroup / "app" / "memory.current").write_text(f"{700 << 20}\n")
    (cgroup / "app" / "memory.stat").write_text(f"anon 1\ninactive_file {100 << 20}\n")
    assert free_memory_mb(proc, cgroup) == 424
    (cgroup / "app" / "memory.max").write_text("max\n")
    assert free_memory_mb(proc, cgroup) == 8192
    (proc / "self" / "cgroup").write_text("4:memory:/app\n0::/\n")  # cgroup v1
    (cgroup / "memory" / "app").mkdir(parents=True)
    (cgroup / "memory" / "app" / "memory.limit_in_bytes").write_text(f"{1 << 30}\n")
    (cgroup / "memory" / "app" / "memory.usage_in_bytes").write_text(f"{900 << 20}\n")
    (cgroup / "memory" / "app" / "memory.stat").write_text(f"total_inactive_file {50 << 20}\n")
    assert free_memory_mb(proc, cgroup) == 174

    monkeypatch.setenv("LIGHTBOX_JOB_MB", "250")
    assert memory_budget_mb() == 250.0
    monkeypatch.setenv("LIGHTBOX_JOB_MB", "")
    assert memory_budget_mb() == pytest.approx(free_memory_mb() * 0.75, rel=0.1)


def test_the_estimate_leaves_nothing_alive() -> None:
    """The probe's graph is freed with its activations: a job's model goes once the job does (after a server job,
    a graph kept alive by a cycle held ResNet-18's 45 MB of weights)."""
    spec = InputSpec(channels=1, height=8, width=8, classes=("a", "b"), mean=(0.5,), std=(0.5,))
    model = build_model("resnet18", spec)
    estimate_job_memory(model, 1, 8, 8, TrainConfig(batch_size=4))
    weights = [weakref.ref(p) for p in model.parameters()]
    del model
    gc.collect()
    assert all(ref() is None for ref in weights)


def test_the_train_page_says_the_sentence_for_the_lr_finder(monkeypatch: pytest.MonkeyPatch) -> None:
    """The learning-rate finder trains a throw-away copy in the page itself: refused the same way, no traceback."""
    monkeypatch.setenv("LIGHTBOX_JOB_MB", "300")
    at = open_page("train")
    at.selectbox(key="train_model").set_value("lite0_finetune").run()
    button(at, "Run the learning-rate finder").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "In batches of 64, Pretrained EfficientNet-Lite0, fine-tuned needs about 4.8 GB of memory to train "
        "(76 MB per image): more than this machine can give a training job now (300 MB). At most 3 images a batch "
        "fit: choose a smaller batch or a lighter model."
    ]
