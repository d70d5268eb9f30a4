import numpy as np
import pytest
import tensorflow as tf

from facelib.models import sm
from facelib.models.losses import build_loss, build_metrics

N_CLASSES = 8
ALL_TERMS = ["dice", "cce", "jaccard", "focal"]


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    labels = np.eye(N_CLASSES, dtype="float32")[rng.integers(0, N_CLASSES, (2, 16, 16))]
    probabilities = tf.nn.softmax(rng.normal(size=(2, 16, 16, N_CLASSES)).astype("float32"))
    return tf.constant(labels), probabilities


def loss_value(terms, batch, class_weights=None):
    loss = build_loss({"loss": terms, "class_weights": class_weights}, N_CLASSES)
    return float(loss(*batch))


def test_loss_is_the_sum_of_the_sm_losses(batch):
    separate = [sm.losses.DiceLoss(), sm.losses.CategoricalCELoss(), sm.losses.JaccardLoss(),
                sm.losses.CategoricalFocalLoss()]
    expected = sum(float(loss(*batch)) for loss in separate)
    assert loss_value(ALL_TERMS, batch) == pytest.approx(expected, rel=1e-6)
    assert loss_value(["cce"], batch) == pytest.approx(float(separate[1](*batch)), rel=1e-6)


def test_class_weights_weight_dice_jaccard_and_focal(batch):
    weights = [0.5, 1, 2, 1, 1, 3, 1, 0.1]
    expected = {
        "dice": sm.losses.DiceLoss(class_weights=np.array(weights)),
        "jaccard": sm.losses.JaccardLoss(class_weights=np.array(weights)),
        "focal": sm.losses.CategoricalFocalLoss(alpha=0.25 * np.array(weights)),
        "cce": sm.losses.CategoricalCELoss(),
    }
    for term, loss in expected.items():
        weighted = loss_value([term], batch, weights)
        assert weighted == pytest.approx(float(loss(*batch)), rel=1e-6)
        assert loss_value([term], batch, [1] * N_CLASSES) == pytest.approx(
            loss_value([term], batch), rel=1e-6)
        if term != "cce":
            assert weighted != pytest.approx(loss_value([term], batch), rel=1e-3)
    zero = [0] * N_CLASSES
    assert loss_value(["dice"], batch, zero) == pytest.approx(1)
    assert loss_value(["jaccard"], batch, zero) == pytest.approx(1)
    assert loss_value(["focal"], batch, zero) == 0


def test_perfect_predictions_have_the_least_loss(batch):
    """Dice, jaccard and focal are 0 for the one-hot truth; cross-entropy is what sm's
    clipping to [eps, 1 - eps] leaves: -ln(1 - eps) / C (sm averages over the channels)."""
    labels, _ = batch
    eps = tf.keras.backend.epsilon()
    least = {"dice": 0.0, "jaccard": 0.0, "focal": 0.0, "cce": -np.log1p(-eps) / N_CLASSES}
    for term, value in least.items():
        assert loss_value([term], (labels, labels)) == pytest.approx(value, abs=1e-7), term
    assert loss_value(ALL_TERMS, (labels, labels)) == pytest.approx(sum(least.values()),
                                                                    abs=1e-6)


def test_uniform_predictions_lose_what_the_class_counts_say(batch):
    """With p = 1/C everywhere and n_k pixels of class k among N: TP_k = n_k / C, so
    dice_k = 2 TP / (n_k + N / C) and IoU_k = TP / (n_k + N / C - TP) (sm's smooth 1e-5
    added above and below); cross-entropy is ln C / C and focal 0.25 (1 - 1/C)^2 ln C / C,
    averaged over pixels and channels."""
    labels, _ = batch
    uniform = tf.fill(labels.shape, 1 / N_CLASSES)
    counts = labels.numpy().reshape(-1, N_CLASSES).sum(axis=0)
    total, smooth = counts.sum(), 1e-5
    tp = counts / N_CLASSES
    expected = {
        "dice": 1 - np.mean((2 * tp + smooth) / (counts + total / N_CLASSES + smooth)),
        "jaccard": 1 - np.mean((tp + smooth) / (counts + total / N_CLASSES - tp + smooth)),
        "cce": np.log(N_CLASSES) / N_CLASSES,
        "focal": 0.25 * (1 - 1 / N_CLASSES) ** 2 * np.log(N_CLASSES) / N_CLASSES,
    }
    for term, value in expected.items():
        assert loss_value([term], (labels, uniform)) == pytest.approx(value, rel=1e-5), term


def test_class_weights_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match="expected 8 numbers"):
        build_loss({"loss": ["dice"], "class_weights": [1, 2]}, N_CLASSES)


def test_metrics_are_logged_under_sm_names_and_threshold_at_half(batch):
    labels, _ = batch
    metrics = build_metrics(N_CLASSES)
    assert [m.__name__ for m in metrics] == ["precision", "recall", "f1-score", "iou_score"]
    confident = 0.6 * labels + 0.4 / N_CLASSES  # right class 0.65, others 0.05
    for metric in metrics:
        assert float(metric(labels, confident)) == pytest.approx(1, abs=1e-4)
        # 1 - confident: 0.35 on the right class, 0.95 elsewhere: all wrong at threshold 0.5.
        assert float(metric(labels, 1 - confident)) == pytest.approx(0, abs=1e-4)
