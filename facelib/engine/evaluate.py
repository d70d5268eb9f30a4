"""Evaluation on a whole split, at each photo's own size, and scoring of prediction folders."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from facelib.core.errors import UsageError
from facelib.core.io import write_json, write_png, write_text
from facelib.core.scheme import ClassScheme
from facelib.data.crops import CropSettings, face_boxes, match_faces
from facelib.data.discover import load_label_map
from facelib.data.shards import is_shard_folder, read_shards, shard_records
from facelib.data.sources import data_source
from facelib.engine.localise import model_input_size, segment_photos
from facelib.models.metrics import confusion_matrix, confusion_metrics
from facelib.models.zoo import multi_scale


def evaluate_model(model, pairs, params: dict, source=None,
                   predictions_dir: Path | None = None) -> dict:
    """Predict every pair, accumulate one confusion matrix; optionally save the label maps.

    Photos go through what `facelib predict` does (`localise.segment_photos`: with
    `data.face_crop`, find the faces, parse each in its crop, paste back; at each of
    `eval.scales`), and are scored at their size; the masks serve only the scores. `source`
    (default: the profile's, `data_source(params)`) reads the pairs: a folder's at each
    photo's own size, shards' at the shard size (`source.evaluated_at` says which). The
    result's `faces` counts the faces of the masks (`crops.face_boxes`), those found (a box
    of IoU >= 0.5 with one) and the boxes that are no face.
    """
    source = source or data_source(params)
    model = multi_scale(model, params, params["eval"]["scales"])
    scheme = ClassScheme.from_params(params["data"]["classes"])
    settings = replace(CropSettings.from_params(params), size=model_input_size(model))
    batch_size = params["eval"]["batch_size"]
    confusion = np.zeros((scheme.n_classes, scheme.n_classes), dtype=np.int64)
    faces = {"true": 0, "found": 0, "false": 0, "photos_without_face": 0}
    if predictions_dir is not None:
        Path(predictions_dir).mkdir(parents=True, exist_ok=True)
    for chunk in tqdm(chunks(source.read(pairs), batch_size),
                      total=-(-len(pairs) // batch_size),
                      desc="evaluate", unit="batch", leave=False):
        stems, images, masks = zip(*chunk, strict=True)
        parsed = segment_photos(model, list(images), settings, batch_size)
        for stem, mask, photo in zip(stems, masks, parsed, strict=True):
            truth = scheme.remap(mask)
            confusion += confusion_matrix(truth, photo.labels, scheme.n_classes)
            true_boxes = face_boxes(truth)
            found, false = match_faces(true_boxes, [face.box for face in photo.faces])
            faces["true"] += len(true_boxes)
            faces["found"] += found
            faces["false"] += false
            faces["photos_without_face"] += not photo.faces
            if predictions_dir is not None:
                write_png(Path(predictions_dir) / f"{stem}.png", photo.labels)
    boxes = faces["found"] + faces["false"]
    faces["detection_rate"] = faces["found"] / faces["true"] if faces["true"] else None
    faces["false_rate"] = faces["false"] / boxes if boxes else 0.0
    return {"metrics": confusion_metrics(confusion, scheme.names), "confusion": confusion,
            "faces": faces}


def chunks(items: Iterable, size: int) -> Iterator[list]:
    """Lists of `size` consecutive items (the last one shorter)."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def write_metrics(folder: Path, metrics: dict, confusion: np.ndarray) -> None:
    """`metrics.json` and `confusion.csv` (rows: true class, columns: predicted class)."""

    names = metrics["classes"]
    table = pd.DataFrame(confusion, index=pd.Index(names, name="true"), columns=names)
    write_text(Path(folder) / "confusion.csv", table.to_csv())
    write_json(Path(folder) / "metrics.json", metrics)


def score_folders(true_dir: str | Path, pred_dir: str | Path, params: dict) -> dict:
    """Score label maps in `pred_dir` (training ids) against source-id masks in `true_dir`.

    Files pair by stem; every prediction needs a mask of the same size. `true_dir` is a
    folder of masks, a dataset in the reference layout (its `*/seg/` masks), or a folder of
    shards (their masks, at the shard size: what a run trained on shards predicts). Returns
    the metrics dict (as in metrics.json) plus `n_images`.
    """

    true_dir, pred_dir = Path(true_dir), Path(pred_dir)
    for folder in (true_dir, pred_dir):
        if not folder.is_dir():
            raise UsageError(f"{folder}: no such folder")
    scheme = ClassScheme.from_params(params["data"]["classes"])
    predictions = {p.stem: p for p in sorted(pred_dir.iterdir()) if p.suffix.lower() == ".png"}
    if not predictions:
        raise UsageError(f"{pred_dir}: no .png label maps")
    masks = mask_paths(true_dir)
    for stem, path in predictions.items():
        if stem not in masks:
            raise UsageError(f"{path}: no mask {stem}.png in {true_dir}")
    confusion = np.zeros((scheme.n_classes, scheme.n_classes), dtype=np.int64)
    for stem, mask in read_masks(true_dir, masks, predictions):
        path = predictions[stem]
        truth = scheme.remap(mask)
        predicted = load_label_map(path)
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


def mask_paths(true_dir: Path) -> dict[str, Path]:
    """Stem -> its mask file or, in a folder of shards, the shard file holding it."""
    if is_shard_folder(true_dir):
        return {r["stem"]: true_dir / r["file"] for r in shard_records(true_dir)}
    return {p.stem: p for p in mask_files(true_dir)}


def read_masks(true_dir: Path, masks: dict[str, Path], stems) -> Iterator[tuple[str, np.ndarray]]:
    """(stem, source-id mask) of each of `stems` (in shard order for shards)."""
    if is_shard_folder(true_dir):
        for example in read_shards(true_dir, stems=stems).as_numpy_iterator():
            yield example["stem"].decode(), example["mask"]
    else:
        for stem in stems:
            yield stem, load_label_map(masks[stem])


def mask_files(folder: Path) -> list[Path]:
    """PNG masks of a flat folder, or of the `*/seg/` folders of a dataset root."""
    nested = sorted(folder.glob("*/seg/*"))
    candidates = nested or sorted(folder.iterdir())
    return [p for p in candidates if p.suffix.lower() == ".png"]
