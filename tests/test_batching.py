"""Passes without gradients take as many images as a memory budget holds for the model at hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.batching import HEADROOM, INFERENCE_MB, inference_batch, widest_layer_bytes
from core.data.registry import load_dataset
from core.models.registry import build_model
from core.train_runs import input_spec_for
from core.training import infer

ROOT = Path(__file__).resolve().parent.parent


def test_a_model_that_grows_its_images_runs_few_at_a_time_with_the_same_answers() -> None:
    """The Lite0 transfer model brings 16-pixel shapes to 224 inside itself: a few images a pass, not 512."""
    shapes = load_dataset("shapes")
    model = build_model("lite0_transfer", input_spec_for(shapes))
    images = shapes.images[:7]  # (7, 3, 16, 16) uint8
    batch = inference_batch(model, images)
    assert 1 <= batch <= 4
    assert HEADROOM * batch * widest_layer_bytes(model, images[0].float()) <= INFERENCE_MB << 20
    seen: list[int] = []
    hook = model.net.register_forward_pre_hook(lambda m, args: seen.append(len(args[0])))
    try:
        chunked = infer(model, images)  # (7, classes)
    finally:
        hook.remove()
    assert seen == [batch] * (7 // batch) + ([7 % batch] if 7 % batch else [])
    assert torch.allclose(chunked, infer(model, images, batch_size=7), atol=1e-4)


def test_small_models_keep_big_batches_and_the_measure_is_kept_per_model() -> None:
    digits = load_dataset("digits")
    model = build_model("cnn", input_spec_for(digits))
    assert inference_batch(model, digits.images) == 512
    assert inference_batch(model, digits.images[:40]) == 40
    model.train()
    inference_batch(build_model("cnn", input_spec_for(digits)), digits.images)
    assert model.training  # measuring one image puts the model back in the mode it was in


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux: peak RSS reset")
def test_evaluating_a_transfer_model_stays_within_the_budget() -> None:
    """Measured, not computed: 16 shapes through Lite0 in one batch took +220 MB of RSS; now under the budget."""
    code = (
        "import json\n"
        "from core.memory import limit_malloc_arenas, map_big_blocks\n"
        "limit_malloc_arenas(); map_big_blocks()  # as the server: freed blocks go back to the system\n"
        "import torch\n"
        "from core.data.registry import load_dataset\n"
        "from core.models.registry import build_model\n"
        "from core.train_runs import input_spec_for\n"
        "from core.training import infer\n"
        "def rss(field):\n"
        "    return next(int(l.split()[1]) / 1024 for l in open('/proc/self/status') if l.startswith(field))\n"
        "shapes = load_dataset('shapes')\n"
        "model = build_model('lite0_transfer', input_spec_for(shapes))\n"
        "infer(model, shapes.images[:1])  # each kernel loaded once\n"
        "base = rss('VmRSS'); open('/proc/self/clear_refs', 'w').write('5')\n"
        "infer(model, shapes.images[:16])\n"
        "print(json.dumps(rss('VmHWM') - base))\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout) < INFERENCE_MB + 16
