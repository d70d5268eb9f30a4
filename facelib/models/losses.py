"""Training loss and metrics, from segmentation-models.

The loss is the sum of the terms listed in `train.loss`. `train.class_weights` weights the
classes of the dice, jaccard and focal terms (focal: alpha = 0.25 * weight, so weights of 1
give sm's default); cross-entropy stays unweighted.
"""

from __future__ import annotations

import numpy as np

from facelib.models import sm

FOCAL_ALPHA = 0.25  # sm's default


def loss_term(name: str, class_weights: np.ndarray | None):
    """One sm loss object: dice, cce, jaccard or focal."""
    if name == "dice":
        return sm.losses.DiceLoss(class_weights=class_weights)
    if name == "jaccard":
        return sm.losses.JaccardLoss(class_weights=class_weights)
    if name == "focal":
        alpha = FOCAL_ALPHA if class_weights is None else FOCAL_ALPHA * class_weights
        return sm.losses.CategoricalFocalLoss(alpha=alpha)
    if name == "cce":
        return sm.losses.CategoricalCELoss()
    raise ValueError(f"unknown loss term {name!r}: expected dice, cce, jaccard or focal")


def build_loss(train_params: dict, n_classes: int):
    """The sum of the `train.loss` terms, weighted by `train.class_weights` (see above)."""
    weights = train_params["class_weights"]
    if weights is not None:
        weights = np.asarray(weights, dtype="float32")
        if weights.shape != (n_classes,):
            raise ValueError(f"train.class_weights = {train_params['class_weights']}: "
                             f"expected {n_classes} numbers")
    terms = [loss_term(name, weights) for name in train_params["loss"]]
    return sum(terms[1:], terms[0])


def build_metrics(n_classes: int) -> list:
    """Precision, recall, F1 and IoU at threshold 0.5, averaged over the classes.

    Keras logs them as `precision`, `recall`, `f1-score` and `iou_score`. sm's metrics
    average over every channel of the one-hot labels, so `n_classes` changes nothing.
    """
    return [sm.metrics.Precision(threshold=0.5), sm.metrics.Recall(threshold=0.5),
            sm.metrics.FScore(threshold=0.5), sm.metrics.IOUScore(threshold=0.5)]
