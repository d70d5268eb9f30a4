"""Evaluation on a whole split, at each photo's own size, and scoring of prediction folders."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facelib.metrics import confusion_matrix, confusion_metrics
from facelib.scheme import ClassScheme


def read_label_map(path: str | Path) -> np.ndarray:
    """A single-channel uint8 label map."""
    labels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if labels is None:
        raise ValueError(f"{path}: not a readable label map")
    return labels if labels.ndim == 2 else labels[..., 0]


def evaluate_model(model, pairs, params: dict, predictions_dir: Path | None = None) -> dict:
    """Predict every pair, accumulate one confusion matrix; optionally save the label maps."""
    from tqdm.auto import tqdm

    from facelib.io import write_with
    from facelib.predict import _write_png, predict_images, read_image

    scheme = ClassScheme.from_params(params["data"]["classes"])
    batch_size = params["eval"]["batch_size"]
    confusion = np.zeros((scheme.n_classes, scheme.n_classes), dtype=np.int64)
    if predictions_dir is not None:
        Path(predictions_dir).mkdir(parents=True, exist_ok=True)
    for start in tqdm(range(0, len(pairs), batch_size), desc="evaluate", unit="batch",
                      leave=False):
        chunk = pairs[start:start + batch_size]
        predictions = predict_images(model, [read_image(p.image) for p in chunk], batch_size)
        for pair, predicted in zip(chunk, predictions, strict=True):
            truth = scheme.remap(read_label_map(pair.mask))
            confusion += confusion_matrix(truth, predicted, scheme.n_classes)
            if predictions_dir is not None:
                write_with(Path(predictions_dir) / f"{pair.stem}.png",
                           lambda tmp, a=predicted: _write_png(tmp, a))
    return {"metrics": confusion_metrics(confusion, scheme.names), "confusion": confusion}


def write_metrics(folder: Path, metrics: dict, confusion: np.ndarray) -> None:
    """`metrics.json` and `confusion.csv` (rows: true class, columns: predicted class)."""
    import pandas as pd

    from facelib.io import write_json, write_text

    names = metrics["classes"]
    table = pd.DataFrame(confusion, index=pd.Index(names, name="true"), columns=names)
    write_text(Path(folder) / "confusion.csv", table.to_csv())
    write_json(Path(folder) / "metrics.json", metrics)


def score_folders(true_dir: str | Path, pred_dir: str | Path, params: dict) -> dict:
    """Score label maps in `pred_dir` (training ids) against source-id masks in `true_dir`.

    Files pair by stem; every prediction needs a mask of the same size. `true_dir` is a
    folder of masks or a dataset in the reference layout (its `*/seg/` masks). Returns the
    metrics dict (as in metrics.json) plus `n_images`.
    """
    from facelib.cli import UsageError

    true_dir, pred_dir = Path(true_dir), Path(pred_dir)
    for folder in (true_dir, pred_dir):
        if not folder.is_dir():
            raise UsageError(f"{folder}: no such folder")
    scheme = ClassScheme.from_params(params["data"]["classes"])
    truths = {p.stem: p for p in mask_files(true_dir)}
    predictions = sorted(p for p in pred_dir.iterdir() if p.suffix.lower() == ".png")
    if not predictions:
        raise UsageError(f"{pred_dir}: no .png label maps")
    confusion = np.zeros((scheme.n_classes, scheme.n_classes), dtype=np.int64)
    for path in predictions:
        if path.stem not in truths:
            raise UsageError(f"{path}: no mask {path.stem}.png in {true_dir}")
        truth = scheme.remap(read_label_map(truths[path.stem]))
        predicted = read_label_map(path)
        if truth.shape != predicted.shape:
            raise UsageError(f"{path}: size {predicted.shape[::-1]} differs from its mask's "
                             f"{truth.shape[::-1]}")
        if predicted.max() >= scheme.n_classes:
            raise UsageError(f"{path}: label {predicted.max()} is not a training id "
                             f"0..{scheme.n_classes - 1}")
        confusion += confusion_matrix(truth, predicted, scheme.n_classes)
    metrics = confusion_metrics(confusion, scheme.names)
    metrics["n_images"] = len(predictions)
    return metrics


def mask_files(folder: Path) -> list[Path]:
    """PNG masks of a flat folder, or of the `*/seg/` folders of a dataset root."""
    nested = sorted(folder.glob("*/seg/*"))
    candidates = nested or sorted(folder.iterdir())
    return [p for p in candidates if p.suffix.lower() == ".png"]
