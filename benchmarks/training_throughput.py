"""Training throughput of fit() against two baselines, on the same model, data, batch size and threads.

  baseline A: a minimal hand-written PyTorch loop over the same in-memory tensors (no callbacks, no history)
  baseline B: the book's way: a per-sample Dataset of PIL images, transforms.ToTensor, a DataLoader

Run: python benchmarks/training_throughput.py [--dataset digits --model cnn --epochs 5 --repeats 3]
Prints images/s for each and the ratios fit/A and fit/B (median of the repeats, interleaved).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from core import DataConfig, ImageDataset, TrainConfig, build_model, fit, input_spec_for, load_dataset


def _fresh_model(train: ImageDataset, name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(name, input_spec_for(train))


def run_fit(train: ImageDataset, val: ImageDataset, name: str, cfg: TrainConfig) -> float:
    """Images per second of training epochs through fit() (validation excluded)."""
    result = fit(_fresh_model(train, name), train, val, cfg)
    return statistics.median(r["images_per_second"] for r in result.history.rows)


def run_minimal(train: ImageDataset, name: str, cfg: TrainConfig) -> float:
    """Images per second of the leanest loop over the same uint8 tensors."""
    model = _fresh_model(train, name)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    rates = []
    for _ in range(cfg.epochs):
        start = time.perf_counter()
        order = torch.randperm(len(train), generator=gen)
        for i in range(0, len(train), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            loss = F.cross_entropy(model(train.images[idx].float().div_(255)), train.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        rates.append(len(train) / (time.perf_counter() - start))
    return statistics.median(rates)


class _PilDataset(Dataset):
    """The book's pattern: one PIL image per __getitem__, converted by torchvision transforms."""

    def __init__(self, data: ImageDataset) -> None:
        self.data = data
        self.transform = transforms.ToTensor()

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.data.to_pil(i)), int(self.data.labels[i])


def run_dataloader(train: ImageDataset, name: str, cfg: TrainConfig) -> float:
    """Images per second with a per-sample DataLoader (num_workers=0, as in a notebook)."""
    model = _fresh_model(train, name)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loader = DataLoader(_PilDataset(train), batch_size=cfg.batch_size, shuffle=True)
    rates = []
    for _ in range(cfg.epochs):
        start = time.perf_counter()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        rates.append(len(train) / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--model", default="cnn")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    train, val = load_dataset(DataConfig(name=args.dataset)).split(0.2, seed=0)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, device="cpu")
    run_minimal(train, args.model, TrainConfig(epochs=1))  # warm-up: first-call kernel selection
    results: dict[str, list[float]] = {"fit()": [], "minimal loop": [], "DataLoader + ToTensor": []}
    for _ in range(args.repeats):  # interleaved, so drift on a shared machine hits all three alike
        results["fit()"].append(run_fit(train, val, args.model, cfg))
        results["minimal loop"].append(run_minimal(train, args.model, cfg))
        results["DataLoader + ToTensor"].append(run_dataloader(train, args.model, cfg))
    med = {k: statistics.median(v) for k, v in results.items()}
    print(
        f"{args.model} on {args.dataset}: {len(train)} training images, batch {args.batch_size}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    for name, rate in med.items():
        print(f"  {name:<24} {rate:>10,.0f} images/s")
    print(f"  fit() / minimal loop      {med['fit()'] / med['minimal loop']:.2f}x")
    print(f"  fit() / DataLoader        {med['fit()'] / med['DataLoader + ToTensor']:.2f}x")


if __name__ == "__main__":
    main()
