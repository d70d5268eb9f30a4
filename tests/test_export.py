"""`facelib export`: SavedModel and TFLite exports that run without facelib and agree with
the Keras model.

The slow tests take the quick pipeline's DeepLabV3+/EfficientNetB0 run (`quick_run` of
conftest.py: two epochs at 64 px; it has all of facelib's custom layers) and export it once
per format; each export is then loaded by a plain `python -c` that never imports facelib,
and scored against the run's own test-split label maps (written by the Keras model at
training time).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from facelib.core.params import load_defaults
from facelib.core.scheme import ClassScheme
from facelib.engine.export import LabelMapModule, export_run
from facelib.engine.predict import predict_image
from facelib.models import load_model

ROOT = Path(__file__).resolve().parents[1]
MODEL = "deeplabv3plus_efficientnetb0"
FLOOR = 0.995

# What a user without facelib writes (the README shows the same lines): photo -> label map.
PLAIN_SAVEDMODEL = """
import sys, cv2, numpy as np, tensorflow as tf
export, out, photos = sys.argv[1], sys.argv[2], sys.argv[3:]
model = tf.saved_model.load(export)
for photo in photos:
    image = cv2.cvtColor(cv2.imread(photo), cv2.COLOR_BGR2RGB)
    labels = model.segment(image).numpy()
    cv2.imwrite(f"{out}/{photo.rsplit('/', 1)[-1].rsplit('.', 1)[0]}.png", labels)
served = model.signatures["serving_default"](image=tf.constant(image))["labels"].numpy()
floats = model.signatures["float32"](image=tf.constant(image, tf.float32))["labels"].numpy()
batch = model.segment(image[None]).numpy()
assert (served == labels).all() and (floats == labels).all() and (batch[0] == labels).all()
assert labels.shape == image.shape[:2] and labels.dtype == np.uint8
assert len(model.class_names.numpy()) == model.palette.shape[0]
"""

PLAIN_TFLITE = """
import sys, cv2, numpy as np, tensorflow as tf
export, out, photos = sys.argv[1], sys.argv[2], sys.argv[3:]
interpreter = tf.lite.Interpreter(model_path=export)
interpreter.allocate_tensors()
(source,), (target,) = interpreter.get_input_details(), interpreter.get_output_details()
size = source["shape"][1]
for photo in photos:
    image = cv2.cvtColor(cv2.imread(photo), cv2.COLOR_BGR2RGB)
    resized = tf.image.resize(image, (size, size), method="area")
    interpreter.set_tensor(source["index"], resized[None].numpy())
    interpreter.invoke()
    probabilities = interpreter.get_tensor(target["index"])[0]
    labels = tf.argmax(tf.image.resize(probabilities, image.shape[:2]), axis=-1)
    labels = labels.numpy().astype(np.uint8)
    cv2.imwrite(f"{out}/{photo.rsplit('/', 1)[-1].rsplit('.', 1)[0]}.png", labels)
"""

NO_FACELIB = """
assert not {"facelib", "tf_keras", "segmentation_models", "efficientnet"} & set(sys.modules), \\
    sorted(m for m in sys.modules if m.split(".")[0] in
           {"facelib", "tf_keras", "segmentation_models", "efficientnet"})
"""


def facelib_cli(*args):
    return subprocess.run([sys.executable, "-m", "facelib.app.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def run(quick_run):
    out, done = quick_run
    assert done.code == 0, done.err
    return out / "runs" / MODEL


@pytest.fixture(scope="module")
def exports(run):
    """One export per format (the Keras model loaded once)."""
    model = load_model(run / "model.keras")
    return {
        "savedmodel": export_run(run, "savedmodel", model=model),
        "float32": export_run(run, "tflite", model=model),
        "float16": export_run(run, "tflite", quantize="float16", model=model),
    }


def photos_of_test_split(run) -> list[str]:
    split = pd.read_csv(run / "split.csv")
    return split.loc[split["split"] == "test", "image"].tolist()


def agreement_with_keras(run: Path, predicted: Path) -> float:
    """Share of pixels of the run's test label maps (Keras) that `predicted`'s maps share."""
    same = total = 0
    for expected_path in sorted((run / "test_predictions").glob("*.png")):
        expected = cv2.imread(str(expected_path), cv2.IMREAD_UNCHANGED)
        labels = cv2.imread(str(predicted / expected_path.name), cv2.IMREAD_UNCHANGED)
        assert labels is not None, f"no label map for {expected_path.name}"
        assert labels.shape == expected.shape, expected_path.name
        same += int((labels == expected).sum())
        total += expected.size
    return same / total


def run_plain(script: str, export: Path, out: Path, photos: list[str]):
    """`python -c script` without facelib's environment, from a folder outside the repo."""
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"TF_USE_LEGACY_KERAS",
                                                             "SM_FRAMEWORK"}}
    done = subprocess.run([sys.executable, "-c", script + NO_FACELIB, str(export), str(out),
                           *photos], capture_output=True, text=True, cwd=out, env=env)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("name, script", [("savedmodel", PLAIN_SAVEDMODEL),
                                          ("float32", PLAIN_TFLITE),
                                          ("float16", PLAIN_TFLITE)])
def test_export_agrees_with_keras_in_a_process_without_facelib(run, exports, tmp_path, name,
                                                               script):
    result = exports[name]
    photos = photos_of_test_split(run)
    run_plain(script, result.path, tmp_path / "labels", photos)
    assert len(list((tmp_path / "labels").glob("*.png"))) == len(photos)
    assert agreement_with_keras(run, tmp_path / "labels") >= FLOOR
    assert result.agreement >= FLOOR and result.ok
    assert result.n_photos == len(photos)


@pytest.mark.slow
def test_the_check_is_not_trivial(run):
    """The quick model's test label maps hold several classes, so agreement means something."""
    labels = np.concatenate([cv2.imread(str(p), cv2.IMREAD_UNCHANGED).ravel()
                             for p in (run / "test_predictions").glob("*.png")])
    shares = np.bincount(labels, minlength=8) / labels.size
    assert (shares > 0.01).sum() >= 2 and shares.max() < 0.9


@pytest.mark.slow
def test_exports_write_their_report_and_expected_formats(run, exports):
    for result in exports.values():
        assert result.path.parent == run / "export"
        report = json.loads(result.report_path.read_text())
        assert report["agreement"] == result.agreement and report["ok"] is True
        assert report["n_pixels"] == sum(
            cv2.imread(str(p), cv2.IMREAD_UNCHANGED).size
            for p in (run / "test_predictions").glob("*.png"))
        assert result.size_bytes == report["size_bytes"] > 0
    assert (exports["savedmodel"].path / "saved_model.pb").exists()
    assert exports["savedmodel"].report_path == run / "export" / "savedmodel.json"
    assert exports["float32"].path.name == "model_float32.tflite"
    assert exports["float16"].path.name == "model_float16.tflite"
    assert exports["float16"].size_bytes < 0.6 * exports["float32"].size_bytes
    interpreter = tf.lite.Interpreter(model_path=str(exports["float32"].path))
    (source,) = interpreter.get_input_details()
    assert source["shape"].tolist() == [1, 64, 64, 3] and source["dtype"] == np.float32


@pytest.mark.slow
def test_predict_takes_an_exported_savedmodel(run, exports, tmp_path):
    photos = photos_of_test_split(run)[:3]
    done = facelib_cli("predict", exports["savedmodel"].path, *photos, "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    for photo in photos:
        stem = Path(photo).stem
        labels = cv2.imread(str(tmp_path / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
        expected = cv2.imread(str(run / "test_predictions" / f"{stem}.png"),
                              cv2.IMREAD_UNCHANGED)
        assert labels.shape == expected.shape
        assert (labels == expected).mean() >= FLOOR
        assert cv2.imread(str(tmp_path / f"{stem}_overlay.png")).shape == (*labels.shape, 3)


def tiny_model(size: int = 32, n_classes: int = 4) -> tf.keras.Model:
    images = tf.keras.Input((size, size, 3))
    x = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu")(images / 255.0)
    x = tf.keras.layers.Conv2D(n_classes, 1, activation="softmax")(x)
    return tf.keras.Model(images, x)


def test_the_label_map_graph_does_what_predict_does(tmp_path):
    """The SavedModel's graph equals facelib.predict on photos larger, smaller and not square,
    as uint8, float32 and batches, after a save and load."""
    tf.keras.utils.set_random_seed(3)
    model = tiny_model()
    scheme = ClassScheme.from_params(load_defaults()["data"]["classes"])
    module = LabelMapModule(model, scheme)
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures=module.signatures())
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    rng = np.random.default_rng(0)
    for height, width in [(97, 41), (20, 30), (32, 32)]:
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        expected = predict_image(model, image)
        labels = loaded.segment(image).numpy()
        assert labels.shape == (height, width) and labels.dtype == np.uint8
        assert (labels == expected).mean() > 0.999
        assert (loaded.segment_float32(image.astype(np.float32)).numpy() == labels).all()
        assert (loaded.segment(np.stack([image, image])).numpy() == labels).all()
    assert int(loaded.input_size) == 32
    assert [n.decode() for n in loaded.class_names.numpy()] == list(scheme.names)
    assert (loaded.palette.numpy() == scheme.palette()).all()


def test_export_names_a_missing_run_in_one_line(tmp_path):
    done = facelib_cli("export", tmp_path / "nowhere", "--format", "savedmodel")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"facelib export: {tmp_path / 'nowhere' / 'model.keras'}: not found; export needs a "
        "finished run folder (with model.keras, split.csv and params.yaml)")
    assert "Traceback" not in done.stderr


def test_export_refuses_quantizing_a_savedmodel(tmp_path):
    done = facelib_cli("export", tmp_path, "--format", "savedmodel", "--quantize", "float16")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "facelib export: --quantize float16 applies to tflite only, not savedmodel")
