"""`facelib run params/quick.yaml` end to end, and what users do with its results.

The pipeline runs once per session (a few minutes on 2 cores) into a temporary folder;
the tests below read its outputs.
"""

import hashlib
import json
from pathlib import Path

import cv2
import nbformat
import numpy as np
import pandas as pd
import pytest

from facelib.core.params import load_params
from facelib.core.scheme import ClassScheme, overlay
from facelib.data.discover import load_image, load_label_map
from facelib.data.fingerprint import data_fingerprint
from facelib.data.sources import FolderSource
from facelib.engine.localise import Face
from facelib.engine.predict import draw_boxes, predict_image, run_palette
from facelib.models import load_model
from facelib.models.metrics import confusion_matrix, confusion_metrics

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["pspnet_resnet50", "deeplabv3plus_efficientnetb0"]
SCHEME = ClassScheme.from_params(load_params(ROOT / "params/quick.yaml")["data"]["classes"])

pytestmark = [pytest.mark.slow, pytest.mark.notebook]


def confusion_of_test_split(run: Path) -> np.ndarray:
    """The confusion matrix of a run's test split, from its masks and saved label maps."""
    split = pd.read_csv(run / "split.csv")
    confusion = np.zeros((SCHEME.n_classes, SCHEME.n_classes), np.int64)
    for row in split[split["split"] == "test"].itertuples():
        truth = SCHEME.remap(load_label_map(row.mask))
        predicted = load_label_map(run / "test_predictions" / f"{row.stem}.png")
        confusion += confusion_matrix(truth, predicted, SCHEME.n_classes)
    return confusion


def test_run_writes_executed_notebooks_without_errors(quick_run):
    out, _ = quick_run
    executed = sorted(out.glob("*.ipynb"))
    names = [p.stem for p in executed]
    assert names == sorted(["01_data_analysis", *[f"02_train_{m}" for m in MODELS],
                            "03_compare", "04_predict"])
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.output_type == "error"]
        assert not errors, f"{path.name} has error outputs"
        assert path.with_suffix(".html").stat().st_size > 10_000


def test_run_writes_metrics_and_comparison(quick_run):
    out, _ = quick_run
    for name in MODELS:
        metrics = json.loads((out / "runs" / name / "metrics.json").read_text())
        assert metrics["classes"] == ["background", "skin", "eyebrows", "eyes", "nose", "mouth",
                                      "ears", "glasses"]
        assert set(metrics) >= {"architecture", "backbone", "image_size", "n_images",
                                "per_class", "mean", "mean_foreground"}
        # The scores are those of the test masks against the saved label maps ...
        confusion = confusion_of_test_split(out / "runs" / name)
        saved = pd.read_csv(out / "runs" / name / "confusion.csv", index_col="true")
        assert list(saved.index) == list(saved.columns) == metrics["classes"]
        np.testing.assert_array_equal(saved.to_numpy(), confusion)
        expected = confusion_metrics(confusion, SCHEME.names)
        for key in ("mean", "mean_foreground"):
            assert metrics[key] == pytest.approx(expected[key], abs=1e-12), key
        assert list(metrics["per_class"]) == list(expected["per_class"])
        for class_name, scores in expected["per_class"].items():
            assert metrics["per_class"][class_name] == pytest.approx(scores, abs=1e-12)
        # ... and some pixels of the test split are right.
        assert metrics["mean"]["iou"] > 0
        history = pd.read_csv(out / "runs" / name / "history.csv")
        assert history["epoch"].tolist() == [0, 1]
    comparison = pd.read_csv(out / "comparison.csv")
    assert list(comparison.columns[:8]) == ["model", "architecture", "backbone", "precision",
                                            "recall", "f1", "iou", "iou_foreground"]
    classes = metrics["classes"]
    assert list(comparison.columns[8:-2]) == ([f"iou_{c}" for c in classes] + ["pixel_accuracy"]
                                              + [f"accuracy_{c}" for c in classes])
    assert list(comparison.columns[-2:]) == ["git_commit", "data_fingerprint"]
    assert sorted(comparison["model"]) == sorted(MODELS)
    assert comparison["iou"].is_monotonic_decreasing
    assert (out / "comparison.png").exists() and (out / "predictions.png").exists()


def test_every_run_folder_has_its_provenance(quick_run):
    out, _ = quick_run
    comparison = pd.read_csv(out / "comparison.csv")
    records = []
    for name in MODELS:
        run = out / "runs" / name
        record = json.loads((run / "provenance.json").read_text())
        assert set(record) >= {"facelib_version", "git_commit", "git_dirty", "packages",
                               "python", "machine", "data_fingerprint", "params_sha256"}
        assert {"tensorflow", "tf-keras", "segmentation-models", "numpy"} <= set(
            record["packages"])
        assert record["machine"]["cores"] >= 1 and record["machine"]["gpus"] == []
        params_text = (run / "params.yaml").read_text()
        assert record["params_sha256"] == hashlib.sha256(params_text.encode()).hexdigest()
        split = pd.read_csv(run / "split.csv")
        splits = {s: FolderSource(Path()).pairs_of_split(split[split["split"] == s])
                  for s in ("train", "val", "test")}
        dataset = Path(split["mask"].iloc[0]).parents[2]
        assert record["data_fingerprint"] == data_fingerprint(splits, dataset)
        records.append(record)
    assert records[0]["data_fingerprint"] == records[1]["data_fingerprint"]
    assert list(comparison["data_fingerprint"]) == [records[0]["data_fingerprint"][:12]] * 2


def test_metrics_agree_with_facelib_score(quick_run, facelib_cmd):
    out, _ = quick_run
    run = out / "runs" / MODELS[0]
    metrics = json.loads((run / "metrics.json").read_text())
    split = pd.read_csv(run / "split.csv")
    dataset = Path(split["mask"].iloc[0]).parents[2]
    scored = json.loads(facelib_cmd("score", dataset, run / "test_predictions", "--json").out)
    assert scored["n_images"] == metrics["n_images"]
    for key in ("mean", "mean_foreground"):
        for score, value in metrics[key].items():
            assert scored[key][score] == pytest.approx(value, abs=1e-9)


def test_rerun_skips_complete_notebooks(quick_run, facelib_cmd):
    out, _ = quick_run
    done = facelib_cmd("run", "params/quick.yaml", "--set", f"output_dir={out}")
    assert done.err.count(": skipped") == 5


def test_predict_writes_full_size_maps_for_large_and_grayscale_photos(quick_run, tmp_path,
                                                                      facelib_cmd):
    out, _ = quick_run
    run = out / "runs" / MODELS[0]
    split = pd.read_csv(run / "split.csv")
    photo = cv2.imread(split["image"].iloc[0])
    landscape = tmp_path / "big landscape.jpg"
    cv2.imwrite(str(landscape), cv2.resize(photo, (3000, 1800)))
    portrait = tmp_path / "gray portrait.png"
    cv2.imwrite(str(portrait), cv2.cvtColor(cv2.resize(photo, (300, 420)), cv2.COLOR_BGR2GRAY))
    predicted = tmp_path / "predicted"
    done = facelib_cmd("predict", run, landscape, portrait, "--out", predicted, "--json")
    found = {Path(line["path"]).stem: line for line in map(json.loads, done.out.splitlines())}
    # The files hold the library's label maps at the photos' own sizes (a grey photo read
    # as three equal channels), and the overlay is drawn from the label map and the boxes.
    model, palette = load_model(run / "model.keras"), run_palette(run / "model.keras")
    for name, shape in (("big landscape", (1800, 3000)), ("gray portrait", (420, 300))):
        labels = cv2.imread(str(predicted / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        image = load_image(next(tmp_path.glob(f"{name}.*")))
        assert labels.shape == image.shape[:2] == shape and labels.max() < SCHEME.n_classes
        assert found[name]["size"] == list(shape)
        np.testing.assert_array_equal(labels, predict_image(model, image))
        shown = cv2.imread(str(predicted / f"{name}_overlay.png"))[..., ::-1]
        faces = [Face(tuple(f["box"]), f["score"], (0, 0, 1, 1)) for f in found[name]["faces"]]
        np.testing.assert_array_equal(shown, draw_boxes(overlay(image, labels, palette), faces))


def test_predict_reports_bad_photos_and_goes_on(quick_run, tmp_path, facelib_cmd):
    out, _ = quick_run
    split = pd.read_csv(out / "runs" / MODELS[0] / "split.csv")
    good = split["image"].iloc[0]
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all")
    done = facelib_cmd("predict", out / "runs" / MODELS[0], empty, good, broken,
                       "--out", tmp_path / "p", check=False)
    assert done.code == 1
    assert "empty.jpg: empty file" in done.err and "broken.png" in done.err
    assert "Traceback" not in done.err
    assert (tmp_path / "p" / f"{Path(good).stem}.png").exists()
    written = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert written == sorted([f"{Path(good).stem}.png", f"{Path(good).stem}_overlay.png"])
