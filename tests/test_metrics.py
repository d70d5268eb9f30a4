import numpy as np
import pytest
from sklearn.metrics import f1_score, jaccard_score, precision_score, recall_score

from facelib.models.metrics import confusion_matrix, confusion_metrics

NAMES = ["background", "skin", "eyebrows", "eyes", "nose", "mouth", "ears", "glasses"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_equal_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 8, size=(5, 40, 30))
    prediction = np.where(rng.random(truth.shape) < 0.6, truth, rng.integers(0, 8, truth.shape))
    prediction[prediction == 7] = 6  # a class that is never predicted: zero division
    metrics = confusion_metrics(confusion_matrix(truth, prediction, 8), NAMES)
    t, p = truth.ravel(), prediction.ravel()
    labels = list(range(8))
    expected = {
        "precision": precision_score(t, p, labels=labels, average=None, zero_division=0),
        "recall": recall_score(t, p, labels=labels, average=None, zero_division=0),
        "f1": f1_score(t, p, labels=labels, average=None, zero_division=0),
        "iou": jaccard_score(t, p, labels=labels, average=None, zero_division=0),
    }
    for score, values in expected.items():
        got = [metrics["per_class"][name][score] for name in NAMES]
        np.testing.assert_allclose(got, values, atol=1e-4)
        assert metrics["mean"][score] == pytest.approx(values.mean(), abs=1e-4)
        assert metrics["mean_foreground"][score] == pytest.approx(values[1:].mean(), abs=1e-4)


def test_confusion_matrix_counts_pixels_and_ignores_unknown_truth():
    truth = np.array([[0, 1, 1, 255]])
    prediction = np.array([[0, 1, 0, 1]])
    matrix = confusion_matrix(truth, prediction, 2)
    assert matrix.tolist() == [[1, 0], [1, 1]]


def test_perfect_prediction_scores_one():
    truth = np.arange(8).repeat(10)
    metrics = confusion_metrics(confusion_matrix(truth, truth, 8), NAMES)
    assert metrics["mean"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "iou": 1.0}
    assert metrics["classes"] == NAMES


def test_score_names_an_unreadable_prediction_in_one_line(tmp_path, cli):
    import cv2

    truth, predicted = tmp_path / "truth", tmp_path / "predicted"
    truth.mkdir(), predicted.mkdir()
    mask = np.zeros((20, 30), np.uint8)
    mask[5:10, 5:10] = 1
    for stem in ("a", "b"):
        cv2.imwrite(str(truth / f"{stem}.png"), mask)
    cv2.imwrite(str(predicted / "a.png"), mask)
    (predicted / "b.png").write_bytes(b"not a png")
    done = cli("score", truth, predicted)
    assert (done.code, done.out) == (2, "")
    assert done.err == f"facelib score: {predicted / 'b.png'}: not a readable image\n"



def test_pixel_accuracy_from_a_known_confusion_matrix():
    # rows: true class, columns: predicted; 100 pixels, 20 + 30 + 25 on the diagonal.
    confusion = np.array([[20, 5, 0], [10, 30, 0], [5, 5, 25]])
    metrics = confusion_metrics(confusion, ["background", "a", "b"])
    assert metrics["pixel_accuracy"] == pytest.approx(75 / 100)
    # A class's pixel accuracy is its recall: right pixels over the class's true pixels.
    recalls = [metrics["per_class"][n]["recall"] for n in ("background", "a", "b")]
    assert recalls == pytest.approx([20 / 25, 30 / 40, 25 / 35])


@pytest.mark.parametrize("seed", [0, 1])
def test_pixel_accuracy_equals_scikit_learn(seed):
    from sklearn.metrics import accuracy_score

    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 6, size=(3, 50, 40))
    prediction = np.where(rng.random(truth.shape) < 0.7, truth, rng.integers(0, 6, truth.shape))
    metrics = confusion_metrics(confusion_matrix(truth, prediction, 6), NAMES[:6])
    assert metrics["pixel_accuracy"] == pytest.approx(
        accuracy_score(truth.ravel(), prediction.ravel()), abs=1e-12)


def test_score_prints_pixel_accuracy(tmp_path, capsys):
    import json

    import cv2

    from facelib.app.cli import main

    truth, predicted = tmp_path / "truth", tmp_path / "predicted"
    truth.mkdir(), predicted.mkdir()
    mask = np.zeros((10, 10), np.uint8)
    mask[:5] = 1  # source id 1 = skin = training id 1 in the default scheme
    guess = np.ones((10, 10), np.uint8)  # half right
    cv2.imwrite(str(truth / "a.png"), mask)
    cv2.imwrite(str(predicted / "a.png"), guess)
    assert main(["score", str(truth), str(predicted), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pixel_accuracy"] == pytest.approx(0.5)
    assert result["per_class"]["skin"]["recall"] == pytest.approx(1.0)
    assert main(["score", str(truth), str(predicted)]) == 0
    assert "pixel accuracy 0.5000" in capsys.readouterr().out
