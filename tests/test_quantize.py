"""int8 copies of runs: the quantize command, loading them back, and restoring one from a bundle."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from core import Predictor, RunStore, load_dataset
from core.bundle import bundle_bytes, restore_bundle
from core.cli import main
from core.quantize_runs import is_int8
from tests.helpers import trained_run
from tests.helpers.images import digit_photo
from tests.helpers.pages import open_page


def _values(out: str) -> dict[str, str]:
    return dict(re.findall(r"^(\w+): (\S+)$", out, flags=re.M))


def test_quantize_a_digits_cnn_then_restore_it_from_a_bundle(
    capsys: pytest.CaptureFixture[str], store: RunStore, tmp_path: Path
) -> None:
    fp32 = trained_run(store, "cnn", epochs=3)
    assert main(["quantize", fp32.id]) == 0
    out = _values(capsys.readouterr().out)
    int8 = store.get_run(out["run_id"])
    assert is_int8(int8) and int8.metrics["int8_of"] == fp32.id and out["int8_of"] == fp32.id
    assert float(out["agreement"]) >= 0.95 and int(out["agreement_images"]) == 359  # digits' validation images
    assert float(out["size_mb"]) < 0.5 * store.weights_path(fp32.id).stat().st_size / 1e6 + 0.02
    assert float(out["latency_ms"]) > 0 and float(out["fp32_size_mb"]) == round(fp32.metrics["size_mb"], 3)
    assert abs(float(out["val_accuracy"]) - fp32.metrics["val_accuracy"]) < 0.03

    _, val = load_dataset("digits").split(0.2, seed=0)
    served = Predictor.from_run(store, int8.id)  # rebuilt from the store: weights_only loading
    right = [served.predict(val.to_pil(i), top_k=1)[0].label == val.classes[int(val.labels[i])] for i in range(40)]
    assert sum(right) >= 36
    other = RunStore(tmp_path / "other-home")
    restored = restore_bundle(other, bundle_bytes(store, int8.id))
    assert is_int8(restored) and restored.metrics["agreement"] == int8.metrics["agreement"]
    x = torch.rand(5, 1, 8, 8)  # (B, C, H, W)
    with torch.no_grad():
        a, b = served.model(x), Predictor.from_run(other, restored.id).model(x)
    assert np.abs(a.numpy() - b.numpy()).max() == 0


@pytest.mark.slow
def test_the_built_in_model_in_int8_agrees_with_fp32_and_comes_back_from_store_and_bundle(
    capsys: pytest.CaptureFixture[str], store: RunStore, tmp_path: Path
) -> None:
    from core.data.photos import sample_photo
    from core.quantize import FUSED_SCHEME

    assert main(["quantize", "imagenet"]) == 0  # the fused oneDNN flow: int8 convs, fp32 stem and classifier
    out = _values(capsys.readouterr().out)
    int8 = store.get_run(out["run_id"])
    assert is_int8(int8) and out["int8_of"] == "imagenet" and int8.metrics["quantization"] == FUSED_SCHEME
    assert float(out["agreement"]) >= 0.95 and int(out["agreement_images"]) >= 200

    assert main(["evaluate", int8.id]) == 2 and "int8 copy of the built-in model" in capsys.readouterr().err
    assert main(["script", int8.id, "--out", str(tmp_path / "t.py")]) == 2  # it named "imagenet" as a run
    assert "imagenet" not in capsys.readouterr().err
    served = Predictor.from_run(store, int8.id)  # as Classify serves it
    top = served.classify(sample_photo("chelsea"), top_k=3).predictions
    assert any("cat" in p.label for p in top), top  # Egyptian cat, tiger cat, tabby
    other = RunStore(tmp_path / "other-home")
    restored = restore_bundle(other, bundle_bytes(store, int8.id))
    x = torch.rand(3, 3, 224, 224)  # (B, C, H, W)
    with torch.no_grad():
        a, b = served.model(x), Predictor.from_run(other, restored.id).model(x)
    assert np.abs(a.numpy() - b.numpy()).max() == 0


def test_an_int8_run_cannot_be_quantized_again(
    capsys: pytest.CaptureFixture[str], store: RunStore, tmp_path: Path
) -> None:
    fp32 = trained_run(store, "simple", epochs=1)
    assert main(["quantize", fp32.id]) == 0
    int8_id = _values(capsys.readouterr().out)["run_id"]
    assert main(["runs"]) == 0
    listed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert " simple int8 " in listed[int8_id] and listed[int8_id].endswith(" · int8")  # told from its original
    with warnings.catch_warnings(record=True) as caught:  # pytest keeps warnings off stderr: record them here
        warnings.simplefilter("always")
        assert main(["evaluate", int8_id]) == 0  # its quantized Linear layers load back (a KeyError traceback before)
    evaluated = capsys.readouterr()
    assert f"accuracy: {store.get_run(int8_id).metrics['val_accuracy']:.4f}" in evaluated.out
    notices = [str(w.message) for w in caught if "TypedStorage" in str(w.message) or "quantize_per" in str(w.message)]
    assert not notices, notices  # none of torch's notices on reading int8 tensors
    for page, key in (("classify", "classify_run"), ("attack", "attack_run")):  # the pages that load its model
        at = open_page(page)
        at.selectbox(key=key).set_value(int8_id).run()
        assert not at.exception, (page, at.exception)  # its size in the model cache counts tensors, not a dtype
    assert "int8 copy's original" in at.error[0].value  # no gradients to fool it with: a sentence
    assert main(["export", int8_id, "--format", "onnx"]) == 2  # torch.export's colourful pages of advice before
    assert "An int8 copy ships as a bundle" in capsys.readouterr().err
    digit_photo()[0].save(tmp_path / "digit.png")
    assert main(["explain", str(tmp_path / "digit.png"), "--model", int8_id, "--out", str(tmp_path / "c.png")]) == 2
    assert "int8 copy" in capsys.readouterr().err  # it said the model had no convolution layers
    assert main(["quantize", int8_id]) == 2
    assert "already int8" in capsys.readouterr().err
    assert main(["quantize", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: There is no run 'nope'")  # one line: no progress bar before it


def test_the_compare_chart_joins_an_int8_run_to_its_original() -> None:
    from dashboard.compare_charts import pareto_figure

    fig = pareto_figure(["cnn", "cnn int8"], [2.0, 0.8], [0.98, 0.975], "latency (ms)", ["cnn", "cnn int8"], [(0, 1)])
    (pair,) = [t for t in fig.data if t.name == "fp32 → int8"]
    assert list(pair.x) == [2.0, 0.8] and list(pair.y) == [0.98, 0.975]
    assert {t.name for t in fig.data} >= {"cnn", "cnn int8", "best trade-offs"}


def test_an_int8_copy_in_an_earlier_layout_asks_to_be_made_again() -> None:
    from core.errors import WeightsError
    from core.prepare import InputSpec
    from core.quantize import EARLIER_FUSED_SCHEMES, FUSED_SCHEME, load_int8_model

    spec = InputSpec(channels=3, height=224, width=224, classes=("a", "b"), mean=(0.5,) * 3, std=(0.5,) * 3)
    assert EARLIER_FUSED_SCHEMES and FUSED_SCHEME not in EARLIER_FUSED_SCHEMES
    for scheme in EARLIER_FUSED_SCHEMES:
        meta = {"int8": {"scheme": scheme}, "model": {"name": "lite0_transfer"}}
        with pytest.raises(WeightsError, match="Make the int8 copy again"):
            load_int8_model({}, meta, spec)


def _random_lite0():
    """Return a Lite0 with 10 classes and seeded random weights (skips where oneDNN has no int8 convolutions)."""
    from core.models.efficientnet_lite import efficientnet_lite0
    from core.models.registry import Classifier
    from core.quantize_lite import int8_supported

    if not int8_supported():
        pytest.skip("this CPU's oneDNN has no int8 convolutions")
    torch.manual_seed(0)
    return Classifier(efficientnet_lite0(10, pretrained=False), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)).eval()


def test_an_int8_lite0_packs_its_weights_again_when_torchs_thread_count_changes() -> None:
    from core.quantize import quantize_model
    from core.quantize_lite import Int8EfficientNetLite

    int8 = quantize_model(_random_lite0(), (3, 64, 64), torch.rand(8, 3, 64, 64).split(4))
    (net,) = [m for m in int8.modules() if isinstance(m, Int8EfficientNetLite)]
    x = torch.rand(2, 3, 64, 64)  # (B, C, H, W)
    threads = torch.get_num_threads()
    try:
        with torch.inference_mode():
            before = int8(x)
            torch.set_num_threads(1 if threads > 1 else 2)  # as a notebook or a server capping its threads does
            after = int8(x)
        assert net._threads == torch.get_num_threads()  # packed for the new count, not reordered on every call
        assert torch.equal(before, after)
    finally:
        torch.set_num_threads(threads)


def test_an_int8_lite0_is_the_same_whatever_torchs_thread_count() -> None:
    from core.quantize import quantize_model

    model = _random_lite0()
    calibration = torch.rand(8, 3, 64, 64)  # (B, C, H, W)
    threads = torch.get_num_threads()
    copies = []
    try:
        for count in (1, 2):  # a dashboard job on a 2-core host, and the command line there
            torch.set_num_threads(count)
            copies.append(quantize_model(model, (3, 64, 64), calibration.split(4)).state_dict())
            assert torch.get_num_threads() == count  # the caller's count comes back
    finally:
        torch.set_num_threads(threads)
    assert copies[0].keys() == copies[1].keys()
    assert all(torch.equal(v, copies[1][k]) for k, v in copies[0].items() if isinstance(v, torch.Tensor))


def test_depthwise_moments_are_each_channels_patch_products_over_every_position() -> None:
    from core.quantize_rounding import depthwise_moments

    x = torch.rand(2, 3, 6, 5, dtype=torch.float64)  # (B, C, H, W)
    h = depthwise_moments([x[:1].float(), x[1:].float()], 3, [1, 1])  # two batches, 'same' padding
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    taps = torch.stack([padded[:, :, i : i + 6, j : j + 5] for i in range(3) for j in range(3)], 2)  # (B, C, 9, H, W)
    patches = taps.permute(1, 2, 0, 3, 4).reshape(3, 9, -1)  # each channel's 3x3 patches, one column a position
    expected = patches @ patches.transpose(1, 2) / patches.shape[-1]
    assert h.dtype == torch.float64 and h.shape == (3, 9, 9)
    assert torch.allclose(h, expected, rtol=1e-6, atol=1e-9)


def test_calibration_holds_bounded_samples_and_correction_images(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many calibration batches keep at most KEPT_SAMPLES values per activation, and 32 images for correction."""
    import core.quantize_calibrate as calibration
    from core.models.efficientnet_lite import EfficientNetLite
    from core.quantize_lite import folded_copy

    sizes: list[int] = []
    best = calibration._best_qparams
    monkeypatch.setattr(calibration, "_best_qparams", lambda values: sizes.append(len(values)) or best(values))
    folded = folded_copy(EfficientNetLite(10).eval())
    batches = [torch.rand(4, 3, 64, 64) for _ in range(40)]  # (B, C, H, W): 40 batches of 4 at 64 pixels
    ranges, inputs = calibration._measure(folded, batches, lambda net, x: net(x))
    assert ranges and max(sizes) <= 400_000 + 2 * len(batches)  # + each batch's min and max
    assert sum(len(x) for x in inputs) == calibration.CORRECTION_IMAGES == 32
