"""Downstream evaluation: does a model's output help a task trained on it?

``augmentation_benefit`` trains the same small CNN classifier on real images, with classic
augmentation, and with synthetic minority images added, and scores each on held-out real images::

    from zoo.evaluate import augmentation_benefit
    report = augmentation_benefit("../shared/data/ham10000", "acgan-lesions", heldout_list="runs/acgan/heldout.txt")
    print(report.markdown()); report.plot("benefit.png")
"""

from __future__ import annotations

from .augmentation import CONDITIONS, DEFAULT_CONDITIONS, augmentation_benefit
from .report import AugmentationReport
from .scores import accuracy, balanced_accuracy, confusion_matrix, macro_f1, per_class_f1, per_class_recall

__all__ = [
    "augmentation_benefit", "AugmentationReport", "CONDITIONS", "DEFAULT_CONDITIONS", "confusion_matrix",
    "balanced_accuracy", "macro_f1", "per_class_recall", "per_class_f1", "accuracy",
]
