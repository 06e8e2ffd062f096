"""Classification scores from a confusion matrix, written out so that every number is checkable.

Rows of the matrix are true classes, columns predicted ones. A class with no test image has no
recall (NaN) and is left out of the class averages, as ``sklearn`` does with ``labels=`` unset:
averaging in a 0 for it would punish the classifier for the split, not for its mistakes.
"""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["confusion_matrix", "per_class_recall", "per_class_f1", "balanced_accuracy", "macro_f1", "accuracy",
    "classification_scores"]


def confusion_matrix(true: torch.Tensor, predicted: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``num_classes`` x ``num_classes`` counts: entry [t, p] = images of class t predicted as p."""
    true, predicted = torch.as_tensor(true).long().flatten(), torch.as_tensor(predicted).long().flatten()
    if true.shape != predicted.shape:
        raise ValueError(f"{len(true)} true labels but {len(predicted)} predictions")
    for name, values in (("true labels", true), ("predictions", predicted)):
        if len(values) and not 0 <= int(values.min()) <= int(values.max()) < num_classes:
            raise ValueError(f"{name} must be class indices 0..{num_classes - 1}, got {values.min()}..{values.max()}")
    return torch.bincount(true * num_classes + predicted, minlength=num_classes**2).view(num_classes, num_classes)


def per_class_recall(cm: torch.Tensor) -> torch.Tensor:
    """Correct / test images of each class; NaN for a class with no test image."""
    cm = cm.double()
    return cm.diag() / cm.sum(1)  # 0 / 0 = NaN: no test image, no recall


def per_class_f1(cm: torch.Tensor) -> torch.Tensor:
    """2 TP / (2 TP + FP + FN) per class; NaN for a class with no test image."""
    cm = cm.double()
    tp = cm.diag()
    f1 = 2 * tp / (cm.sum(0) + cm.sum(1))  # FP + FN + 2 TP = predicted + actual
    return torch.where(cm.sum(1) > 0, f1, torch.nan)


def balanced_accuracy(cm: torch.Tensor) -> float:
    """The mean of the per-class recalls (classes with test images)."""
    return float(per_class_recall(cm).nanmean())


def macro_f1(cm: torch.Tensor) -> float:
    """The unweighted mean of the per-class F1 scores (classes with test images)."""
    return float(per_class_f1(cm).nanmean())


def accuracy(cm: torch.Tensor) -> float:
    return float(cm.diag().sum() / cm.sum()) if cm.sum() else float("nan")


def classification_scores(cm: torch.Tensor, class_names: Sequence[str]) -> dict:
    """Everything a report shows about one confusion matrix, JSON-ready (None where undefined)."""
    recall, f1 = per_class_recall(cm), per_class_f1(cm)
    return {
        "balanced_accuracy": _number(balanced_accuracy(cm)),
        "macro_f1": _number(macro_f1(cm)),
        "accuracy": _number(accuracy(cm)),
        "recall": {name: _number(float(r)) for name, r in zip(class_names, recall)},
        "f1": {name: _number(float(f)) for name, f in zip(class_names, f1)},
        "test_count": {name: int(n) for name, n in zip(class_names, cm.sum(1))},
        "confusion_matrix": cm.tolist(),
    }


def _number(value: float) -> float | None:
    return None if value != value else value  # NaN -> None: JSON has no NaN
