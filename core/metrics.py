"""Classification metrics on tensors of logits and labels."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["per_class_report"]


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Return the fraction of rows whose highest score is the label."""
    if len(labels) == 0:
        return float("nan")
    return (logits.argmax(dim=1) == labels).float().mean().item()


def confusion_matrix(preds: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Return counts (true class, predicted class) as a (K, K) int64 tensor."""
    idx = labels.long().cpu() * num_classes + preds.long().cpu()
    return torch.bincount(idx, minlength=num_classes * num_classes).view(num_classes, num_classes)


def per_class_report(matrix: torch.Tensor | Sequence[Sequence[int]]) -> list[dict[str, float]]:
    """Return precision, recall and support per class from a confusion matrix (tensor or nested lists)."""
    m = torch.as_tensor(matrix).double()  # (K, K): rows true, columns predicted
    tp = m.diag()
    predicted, actual = m.sum(dim=0), m.sum(dim=1)
    precision = torch.where(predicted > 0, tp / predicted.clamp_min(1), torch.nan)
    recall = torch.where(actual > 0, tp / actual.clamp_min(1), torch.nan)
    return [
        {"precision": p.item(), "recall": r.item(), "support": int(s.item())}
        for p, r, s in zip(precision, recall, actual, strict=True)
    ]
