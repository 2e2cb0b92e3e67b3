"""Show me the code: a run as one standalone PyTorch script that rebuilds its data, model and training.

The script needs torch, torchvision and the one loader its data needs (scikit-learn's load_digits, or numpy
and Pillow for the shapes generator or a user's own folder or .zip); it never imports Lightbox. One function
per phase. Run, it prints `val_accuracy: ...` at or near the run's own: the same pixels, split, initial
weights, batches, optimiser, schedule and normalisation (in full precision: rounding it changed results).
"""

from __future__ import annotations

import time

from core import seeding
from core.data import augment
from core.errors import LightboxError
from core.models import small
from core.runs import RunInfo, RunStore
from core.script_data import BUILT_IN, DataCode, data_code, source

SCRIPT_MODELS = ("simple", "cnn", "resnet18")
SCRIPT_DATASETS = BUILT_IN  # and a user's own imported images

_HEADER = '''"""{title}

Written by Lightbox from run {run_id} ({created}); it needs no Lightbox, only the packages imported below.
Lightbox reached val_accuracy {accuracy} with these settings. Run: python {file_name}
"""
'''

_SPLIT = '''

def split(labels: torch.Tensor, classes: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return train and validation indices, stratified by class, the same for the same seed."""
    gen = torch.Generator().manual_seed(seed)
    train_idx, val_idx = [], []
    for c in range(classes):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        n_val = min(max(round(len(idx) * val_fraction), 1), len(idx) - 1) if len(idx) > 1 else 0
        val_idx.append(idx[:n_val])
        train_idx.append(idx[n_val:])
    return torch.cat(train_idx).sort().values, torch.cat(val_idx).sort().values


class Classifier(nn.Module):
    """The network with its input normalisation built in: it takes images in [0, 1]."""

    def __init__(self, net: nn.Module, mean: list[float], std: list[float]) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) in [0, 1] -> (B, classes)
        return self.net((x - self.mean) / self.std)
'''

_AUGMENT = '''

def augment(images: torch.Tensor, p: _Preset, generator: torch.Generator, flip: bool) -> torch.Tensor:
    """Return a randomly shifted, zoomed (and, strong, rotated and colour-jittered) copy of a uint8 batch."""
    u = torch.rand(len(images), 8, generator=generator)  # (B, 8)
    x = images.float().div_(255.0)  # (B, C, H, W) in [0, 1]
    theta = _random_affine(u[:, :5], p, flip, aspect=images.shape[2] / images.shape[3])  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if p.jitter > 0:
        x = _jitter(x, 1.0 + p.jitter * (2.0 * u[:, 5:] - 1.0))
    return x.mul_(255.0).round_().clamp_(0, 255).to(torch.uint8)
'''

_TRAIN = '''

def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    """Return the run's optimiser over every parameter."""
    return {optimizer}


def train_one_epoch(model, images, labels, optimizer, scheduler, generator) -> None:
    """Run one shuffled pass over the training images, {augment_note}."""
    model.train()
    order = torch.randperm(len(images), generator=generator)
    for start in range(0, len(order), BATCH_SIZE):
        idx = order[start : start + BATCH_SIZE]
        x = images[idx]{augment_call}
        loss = F.cross_entropy(model(x.float().div(255.0)), labels[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Return the share of images the model labels right, a training batch at a time (no more memory than a step)."""
    model.eval()
    batches = images.split(BATCH_SIZE)
    logits = torch.cat([model(x.float().div(255.0)) for x in batches])
    return (logits.argmax(dim=1) == labels).float().mean().item()


def main() -> None:
    images, labels, classes = load_data()
    train_idx, val_idx = split(labels, len(classes), val_fraction={val_fraction}, seed={split_seed})
    torch.manual_seed(SEED)  # the same initial weights as the run
    model = Classifier(build_net(), MEAN, STD)
    optimizer = make_optimizer(model)
    batches = math.ceil(len(train_idx) / BATCH_SIZE)
    scheduler = {scheduler}
    generator = torch.Generator().manual_seed(SEED){dropout}
    for epoch in range(1, EPOCHS + 1):
        train_one_epoch(model, images[train_idx], labels[train_idx], optimizer, scheduler, generator)
        print(f"epoch {{epoch}}: val_accuracy {{evaluate(model, images[val_idx], labels[val_idx]):.4f}}")
    print(f"val_accuracy: {{evaluate(model, images[val_idx], labels[val_idx]):.4f}}")


if __name__ == "__main__":
    main()
'''

_NETS: dict[str, tuple[object, ...]] = {
    "simple": (small.SimpleNet,),
    "cnn": (seeding.Dropout, small._conv_block, small.SmallCNN),
    "resnet18": (small.small_resnet18,),
}
_DROPOUT = """
    masks = torch.Generator().manual_seed(SEED + 1)  # dropout's own generator, as the run's
    for layer in model.modules():
        if isinstance(layer, Dropout):
            layer.generator = masks"""


def _optimizer(run: RunInfo) -> str:
    t = run.config.train
    # fused=True: one step per parameter, as Lightbox takes it on the CPU (the default step rounds otherwise, and
    # the default digits run drifted from epoch 6 on: 0.9972 against the run's 0.9944)
    if t.optimizer == "sgd":
        args = f"lr={t.lr!r}, momentum={t.momentum!r}, weight_decay={t.weight_decay!r}, fused=True"
        return f"torch.optim.SGD(model.parameters(), {args})"
    name = {"adam": "Adam", "adamw": "AdamW"}[t.optimizer]
    return f"torch.optim.{name}(model.parameters(), lr={t.lr!r}, weight_decay={t.weight_decay!r}, fused=True)"


def _scheduler(run: RunInfo) -> str:
    t = run.config.train
    if t.schedule == "constant":
        return "None  # a constant learning rate"
    cycle = t.optimizer != "sgd" or t.momentum > 0
    return (
        f"torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[{t.lr!r}], total_steps=EPOCHS * batches, "
        f"cycle_momentum={cycle})"
    )


def _check(run: RunInfo) -> None:
    """Raise a LightboxError when no script can be written for this run yet."""
    cfg = run.config
    if cfg.model.name.startswith("lite0_"):
        raise LightboxError(
            "This run fine-tunes the pretrained EfficientNet-Lite0 backbone, whose network code is Lightbox's own, "
            "so no standalone script is written for it; the simple, cnn and resnet18 models have one."
        )
    if cfg.model.quantization:
        source = run.metrics.get("int8_of", "another run")
        raise LightboxError(
            "This run is an int8 copy, made from a trained model rather than trained, so it has no training script"
            + ("." if source == run.dataset else f"; the run it was made from ({source}) has one.")
        )  # the built-in model's copy names "imagenet" both as its source and its data: no run to point to
    if cfg.model.name not in SCRIPT_MODELS:
        raise LightboxError(
            f"A script is written for the {', '.join(SCRIPT_MODELS)} models trained here; this run's "
            f"'{cfg.model.name}' model is not one of them yet."
        )


def _imports(lines: set[str]) -> str:
    """Return import lines sorted as isort does: plain imports first, then from-imports, by module."""
    return "\n".join(sorted(lines, key=lambda line: (line.startswith("from "), line.split()[1].lower())))


def _safe(text: str) -> str:
    """Return typed text that cannot end or escape the script's docstring: one line, no quotes or backslashes."""
    return " ".join(text.replace("\\", "/").replace('"', "'").split())


def _header(run: RunInfo, data: DataCode) -> str:
    cfg, t = run.config, run.config.train
    accuracy = run.metrics.get("val_accuracy")
    name, data_name = _safe(run.name), _safe(cfg.data.name)
    text = _HEADER.format(
        title=f"Train '{name}' again: {cfg.model.name} on {data_name}, {t.epochs} epoch{'s' if t.epochs != 1 else ''}.",
        run_id=run.id,
        created=time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created)),
        accuracy=f"{accuracy:.4f}" if isinstance(accuracy, float) else "-",
        file_name=f"train_{run.id}.py",
    )
    stdlib = {"import math", *data.stdlib}
    packages = {"import torch", "import torch.nn.functional as F", "from torch import nn", *data.packages}
    if cfg.model.name == "resnet18":
        packages.add("from torchvision.models import resnet18")
    if t.augment != "none":
        stdlib.add("from dataclasses import dataclass")
        packages.add("from torchvision.transforms.v2 import functional as TF")
    text += f"\n{_imports(stdlib)}\n\n{_imports(packages)}\n\n{data.constants}"
    spec = run.input_spec or {}
    text += "# Each channel's pixel mean and spread on the training images (0-1 scale), as the run normalised them.\n"
    text += f"MEAN = {list(spec.get('mean', []))}\nSTD = {list(spec.get('std', []))}\n"
    return text + f"EPOCHS = {t.epochs}\nBATCH_SIZE = {t.batch_size}\nSEED = {t.seed}\n"


def _model(run: RunInfo) -> str:
    spec, name = run.input_spec or {}, run.config.model.name
    builder = _NETS[name][-1].__name__  # type: ignore[attr-defined]
    shape = f"{spec.get('channels')}, {len(spec.get('classes', []))}, ({spec.get('height')}, {spec.get('width')})"
    return source(*_NETS[name]) + f"\n\n\ndef build_net() -> nn.Module:\n    return {builder}({shape})\n"


def _augment(run: RunInfo) -> tuple[str, str, str]:
    """Return the augmentation code, the line that calls it in the loop, and a note for the docstring."""
    preset = run.config.train.augment
    if preset == "none":
        return "", "", "no augmentation"
    flip = not (run.input_spec or {}).get("dark_background", False)
    code = source(augment._Preset, augment._random_affine, augment._jitter, augment._gray)
    code += f"\n\nAUGMENT = {augment._PRESETS[preset]!r}\n" + _AUGMENT
    call = f"\n        x = augment(x, AUGMENT, generator, flip={flip})  # '{preset}' augmentation"
    return code, call, f"each batch augmented ('{preset}')"


def training_script(run: RunInfo) -> str:
    """Return the standalone script that trains this run's model again, or raise a LightboxError why not."""
    _check(run)
    data = run.config.data
    code, call, note = _augment(run)
    loop = _TRAIN.format(
        optimizer=_optimizer(run),
        scheduler=_scheduler(run),
        augment_call=call,
        augment_note=note,
        val_fraction=data.val_fraction,
        split_seed=data.split_seed,
        dropout=_DROPOUT if seeding.Dropout in _NETS[run.config.model.name] else "",
    )
    data_part = data_code(run)
    return _header(run, data_part) + data_part.code + _SPLIT + _model(run) + code + loop


def run_script(store: RunStore, run_id: str) -> str:
    """Return the training script of a kept run."""
    return training_script(store.get_run(run_id))


__all__ = ["SCRIPT_DATASETS", "SCRIPT_MODELS", "run_script", "training_script"]
