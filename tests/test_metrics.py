from __future__ import annotations

import math

import pytest
import torch

from core import per_class_report
from core.metrics import accuracy, confusion_matrix


def test_confusion_matrix_counts_true_rows_and_predicted_columns() -> None:
    preds = torch.tensor([0, 1, 1, 2, 2, 2])
    labels = torch.tensor([0, 1, 2, 2, 2, 0])
    m = confusion_matrix(preds, labels, 3)
    assert m.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 2]]


def test_per_class_report_from_lists_and_tensors() -> None:
    matrix = [[1, 0, 1], [0, 1, 0], [0, 1, 2]]
    report = per_class_report(matrix)
    assert report == per_class_report(torch.tensor(matrix))
    assert report[2]["precision"] == 2 / 3 and report[2]["recall"] == 2 / 3 and report[0]["support"] == 2
    assert math.isnan(per_class_report([[0, 0], [0, 3]])[0]["precision"])  # never predicted: undefined


def test_accuracy() -> None:
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert accuracy(logits, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)
