"""Evaluation scores known answers: stand-in models that read each pixel's class off the photo
(`fixtures.folders.class_coded_dataset`) score what the masks' class counts say, through
`evaluate_model` (a folder at each photo's size, shards at their size) and `score_folders`."""

import numpy as np
import pytest
import tensorflow as tf
from fixtures.folders import CLASS_GREY_STEP, class_coded_dataset

from facelib.core.params import load_params
from facelib.core.scheme import ClassScheme
from facelib.data.discover import find_pairs, load_label_map
from facelib.data.shards import write_shards
from facelib.data.sources import data_source
from facelib.engine.evaluate import evaluate_model, score_folders

PHOTO = 32  # class_coded_dataset's photos: 16 x 16 cells of 2 x 2 px
EYES, NOSE = 3, 4


def stand_in(size: int, table) -> tf.keras.Model:
    """A model of input `size` that outputs the one-hot of table[class read off the photo]."""
    table = tf.constant(table, tf.int32)

    def predict(images):
        classes = tf.cast(tf.round(images[..., 0] / CLASS_GREY_STEP), tf.int32)
        return tf.one_hot(tf.gather(table, classes), len(table))

    inputs = tf.keras.Input((size, size, 3))
    return tf.keras.Model(inputs, tf.keras.layers.Lambda(predict)(inputs))


TRUTH = list(range(8))
BACKGROUND = [0] * 8
EYES_AS_NOSE = [NOSE if k == EYES else k for k in range(8)]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The class-coded folder, its shards at the photos' size, and its class pixel counts."""
    root = class_coded_dataset(tmp_path_factory.mktemp("data"), count=3)
    shards = tmp_path_factory.mktemp("shards") / "shards"
    assert write_shards(root, shards, size=PHOTO, workers=1, progress=False).ok
    params = load_params(overrides={"data": {"source": "folder", "root": str(root)}})
    scheme = ClassScheme.from_params(params["data"]["classes"])
    masks = [scheme.remap(load_label_map(p.mask)) for p in find_pairs(root)]
    counts = np.bincount(np.concatenate([m.ravel() for m in masks]), minlength=8)
    assert (counts > 0).all() and counts.sum() == 3 * PHOTO * PHOTO
    return root, shards, counts


def evaluate(dataset, source: str, model_size: int, table, predictions_dir=None) -> dict:
    root, shards, _ = dataset
    params = load_params(overrides={
        "data": {"source": source, "root": str(root if source == "folder" else shards),
                 "image_size": PHOTO},
        "eval": {"batch_size": 2},
    })
    source = data_source(params)
    return evaluate_model(stand_in(model_size, table), source.pairs(), params,
                          predictions_dir=predictions_dir)


# At a model size of half the photo's, each 2 x 2 cell shrinks to one pixel (area) and grows
# back (bilinear, then argmax) exactly.
@pytest.mark.parametrize("source, model_size", [("folder", PHOTO), ("folder", PHOTO // 2),
                                                ("shards", PHOTO)])
def test_the_truth_scores_one(dataset, source, model_size, tmp_path):
    root, _, counts = dataset
    result = evaluate(dataset, source, model_size, TRUTH, predictions_dir=tmp_path)

    np.testing.assert_array_equal(result["confusion"], np.diag(counts))
    metrics = result["metrics"]
    assert metrics["mean"] == metrics["mean_foreground"] == {
        "precision": 1.0, "recall": 1.0, "f1": 1.0, "iou": 1.0}
    scheme = ClassScheme.from_params(load_params()["data"]["classes"])
    for pair in find_pairs(root):
        np.testing.assert_array_equal(load_label_map(tmp_path / f"{pair.stem}.png"),
                                      scheme.remap(load_label_map(pair.mask)))
    scored = score_folders(root, tmp_path, load_params())
    assert scored == {**metrics, "n_images": 3}


@pytest.mark.parametrize("source, model_size", [("folder", PHOTO // 2), ("shards", PHOTO)])
def test_background_everywhere_scores_the_background_share(dataset, source, model_size):
    _, _, counts = dataset
    total, n_background = counts.sum(), counts[0]

    metrics = evaluate(dataset, source, model_size, BACKGROUND)["metrics"]

    background = {"precision": n_background / total, "recall": 1.0,
                  "f1": 2 * n_background / (n_background + total),
                  "iou": n_background / total}
    nothing = dict.fromkeys(background, 0.0)
    assert metrics["per_class"]["background"] == pytest.approx(background, rel=1e-12)
    for name in metrics["classes"][1:]:
        assert metrics["per_class"][name] == nothing
    assert metrics["mean"] == pytest.approx({k: v / 8 for k, v in background.items()},
                                            rel=1e-12)
    assert metrics["mean_foreground"] == nothing


def test_eyes_taken_for_nose_cost_the_eyes_and_the_nose_only(dataset):
    _, _, counts = dataset

    result = evaluate(dataset, "folder", PHOTO // 2, EYES_AS_NOSE)

    expected = np.diag(counts)
    expected[EYES, EYES], expected[EYES, NOSE] = 0, counts[EYES]
    np.testing.assert_array_equal(result["confusion"], expected)
    per_class = result["metrics"]["per_class"]
    eyes, nose = counts[EYES], counts[NOSE]
    assert per_class["eyes"] == dict.fromkeys(("precision", "recall", "f1", "iou"), 0.0)
    assert per_class["nose"] == pytest.approx(
        {"precision": nose / (nose + eyes), "recall": 1.0,
         "f1": 2 * nose / (2 * nose + eyes), "iou": nose / (nose + eyes)}, rel=1e-12)
    others = [name for name in per_class if name not in ("eyes", "nose")]
    assert all(per_class[name] == dict.fromkeys(per_class[name], 1.0) for name in others)
    assert result["metrics"]["mean"]["iou"] == pytest.approx(
        (6 + nose / (nose + eyes)) / 8, rel=1e-12)
