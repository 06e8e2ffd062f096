"""Evaluation: how good is a model, how does it help, does it copy its training images?

``evaluate`` (``zoo evaluate``) measures a model against a real folder: SWD on Laplacian-pyramid
patches (no pretrained weights), FID/KID/precision/recall on Inception-v3 features from a local
file, the memorization audit, translation figures, and writes them into the model card::

    from zoo.evaluate import evaluate
    report = evaluate("acgan-lesions", "data/ham10000", holdout=0.2, group_column="lesion_id",
                      out="reports/acgan")
    print(report.markdown())

``augmentation_benefit`` trains the same small CNN classifier on real images, with classic
augmentation, and with synthetic minority images added, and scores each on held-out real images::

    from zoo.evaluate import augmentation_benefit
    report = augmentation_benefit("data/ham10000", "acgan-lesions", heldout_list="runs/acgan/heldout.txt")
    print(report.markdown()); report.plot("benefit.png")

The pieces are public too: ``laplacian_swd``, ``fid``, ``kid``, ``precision_recall``,
``load_feature_extractor`` / ``extract_features``, ``memorization_audit``, ``translation_metrics``,
``feature_scatter``, ``truncation_sweep``.
"""

from __future__ import annotations

from zoo.evaluate.augmentation import CONDITIONS, DEFAULT_CONDITIONS, augmentation_benefit
from zoo.evaluate.distribution import KID, PrecisionRecall, fid, kid, laplacian_swd, precision_recall
from zoo.evaluate.inception import FIDInceptionV3, extract_features, load_feature_extractor
from zoo.evaluate.memorization import MemorizationReport, memorization_audit
from zoo.evaluate.report import AugmentationReport
from zoo.evaluate.scores import accuracy, balanced_accuracy, confusion_matrix, macro_f1, per_class_f1, per_class_recall
from zoo.evaluate.suite import EvaluationReport, evaluate, update_card
from zoo.evaluate.translation import cycle_metrics, masked_edit_metrics, paired_metrics, translation_metrics
from zoo.evaluate.views import feature_scatter, markdown_table, truncation_sweep

__all__ = [
    "evaluate", "EvaluationReport", "update_card",
    "laplacian_swd", "fid", "kid", "precision_recall", "KID", "PrecisionRecall",
    "load_feature_extractor", "extract_features", "FIDInceptionV3",
    "memorization_audit", "MemorizationReport",
    "translation_metrics", "cycle_metrics", "paired_metrics", "masked_edit_metrics",
    "feature_scatter", "truncation_sweep", "markdown_table",
    "augmentation_benefit", "AugmentationReport", "CONDITIONS", "DEFAULT_CONDITIONS", "confusion_matrix",
    "balanced_accuracy", "macro_f1", "per_class_recall", "per_class_f1", "accuracy",
]
