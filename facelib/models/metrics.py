"""Segmentation scores from one confusion matrix over a whole split.

With C[t, p] the number of pixels of true class t predicted as p, for class k:
    TP = C[k, k], FP = column sum - TP, FN = row sum - TP
    precision = TP / (TP + FP), recall = TP / (TP + FN),
    F1 = 2 TP / (2 TP + FP + FN), IoU = TP / (TP + FP + FN).
These are exactly scikit-learn's `precision_score`, `recall_score`, `f1_score` and
`jaccard_score` with `average=None` over the flattened pixels: sklearn builds the same
per-class TP/FP/FN counts (multilabel_confusion_matrix) and applies the same formulas. A
class that never occurs and is never predicted has 0/0; sklearn reports 0 there
(zero_division=0) and so do we. Means are unweighted (sklearn's `average="macro"`), over all
classes and over the face classes without background (as face-parsing papers report).
Overall pixel accuracy = trace(C) / sum(C), the share of pixels whose class is right (the
score FASSEG papers report); a class's pixel accuracy is its recall.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SCORES = ("precision", "recall", "f1", "iou")


def confusion_matrix(truth: np.ndarray, prediction: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) int64 pixel counts; truth values >= n_classes are ignored."""
    truth = np.asarray(truth, dtype=np.int64).ravel()
    prediction = np.asarray(prediction, dtype=np.int64).ravel()
    keep = truth < n_classes
    index = truth[keep] * n_classes + prediction[keep]
    return np.bincount(index, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den > 0)


def per_class_scores(confusion: np.ndarray) -> dict[str, np.ndarray]:
    confusion = np.asarray(confusion, dtype=float)
    tp = np.diag(confusion)
    fp = confusion.sum(axis=0) - tp
    fn = confusion.sum(axis=1) - tp
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "iou": _ratio(tp, tp + fp + fn),
    }


def pixel_accuracy(confusion: np.ndarray) -> float:
    """trace / sum of the confusion matrix: the share of pixels given their true class."""
    confusion = np.asarray(confusion, dtype=float)
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else 0.0


def confusion_metrics(confusion: np.ndarray, class_names: list[str] | tuple[str, ...]) -> dict:
    """`{"classes", "per_class": {name: scores}, "mean": scores, "mean_foreground": scores,
    "pixel_accuracy"}`.

    The first class is background; `mean_foreground` leaves it out. A class's pixel accuracy
    is its `recall`.
    """
    scores = per_class_scores(confusion)
    names = list(class_names)
    return {
        "classes": names,
        "per_class": {
            name: {s: float(scores[s][k]) for s in SCORES} for k, name in enumerate(names)
        },
        "mean": {s: float(scores[s].mean()) for s in SCORES},
        "mean_foreground": {s: float(scores[s][1:].mean()) for s in SCORES},
        "pixel_accuracy": pixel_accuracy(confusion),
    }


def metrics_table(metrics: dict):
    """Per-class scores plus the two means as a pandas DataFrame (rows: classes)."""

    table = pd.DataFrame(metrics["per_class"]).T
    table.loc["mean"] = metrics["mean"]
    table.loc["mean (no background)"] = metrics["mean_foreground"]
    return table[list(SCORES)]
