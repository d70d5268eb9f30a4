"""Fixed test images predicted by one or more trained runs, for the notebooks' figures."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from facelib.core.io import write_png
from facelib.core.runs import MODEL_FILE
from facelib.core.scheme import ClassScheme
from facelib.data.crops import CropSettings
from facelib.data.discover import Pair, load_image, load_label_map
from facelib.data.shards import read_pairs
from facelib.engine.localise import model_input_size, segment_photos
from facelib.engine.predict import run_params
from facelib.models import load_model


@dataclass
class Examples:
    stems: list[str]
    images: list[np.ndarray]
    truths: list[np.ndarray]
    predictions: dict[str, list[np.ndarray]]


def test_pairs(run_dir: Path) -> pd.DataFrame:
    """The test split a run was scored on (its `split.csv`, every column text), sorted by
    stem."""
    split = pd.read_csv(Path(run_dir) / "split.csv", dtype=str, keep_default_na=False)
    return split[split["split"] == "test"].sort_values("stem").reset_index(drop=True)


def example_pairs(run_dir: Path, count: int) -> pd.DataFrame:
    """`count` fixed test pairs, one per subject (first frames of the first subjects)."""
    return test_pairs(run_dir).drop_duplicates("subject").head(count)


def predict_examples(params: dict, run_dirs: dict[str, Path], count: int) -> Examples:
    """`count` fixed test images (see `example_pairs`), their truth and each run's prediction."""

    scheme = ClassScheme.from_params(params["data"]["classes"])
    chosen = example_pairs(next(iter(run_dirs.values())), count)
    images, masks = read_rows(chosen)
    truths = [scheme.remap(mask) for mask in masks]
    predictions = {name: predict_run(Path(folder) / MODEL_FILE, images)
                   for name, folder in run_dirs.items()}
    return Examples(list(chosen["stem"]), images, truths, predictions)


def predict_run(model_file: Path, images: list[np.ndarray]) -> list[np.ndarray]:
    """Label maps of `images` by a run's model, the way `facelib predict` makes them."""
    model = load_model(model_file)
    settings = replace(CropSettings.from_params(run_params(model_file)),
                       size=model_input_size(model))
    return [photo.labels for photo in segment_photos(model, images, settings)]


def read_rows(rows: pd.DataFrame) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """RGB photos and source-id masks of `split.csv` rows, from their files or, when `image`
    names a shard (`.tfrecord`), from the shards."""

    if not rows["image"].str.endswith(".tfrecord").any():
        return ([load_image(path) for path in rows["image"]],
                [load_label_map(path) for path in rows["mask"]])

    pairs = [Pair(r.stem, r.subject, r.folder, Path(r.image), Path(r.mask))
             for r in rows.itertuples()]
    examples = {(e["folder"].decode(), e["stem"].decode()): e
                for e in read_pairs(pairs).as_numpy_iterator()}
    chosen = [examples[p.folder, p.stem] for p in pairs]
    return [e["image"] for e in chosen], [e["mask"] for e in chosen]


def example_photos(run_dir: Path, count: int, out_dir: Path) -> list[str]:
    """Photo files of `count` fixed test pairs (`example_pairs`): the dataset's own files;
    from shards, their photos at the shard size written to `out_dir/STEM.png`."""
    chosen = example_pairs(run_dir, count)
    if not chosen["image"].str.endswith(".tfrecord").any():
        return list(chosen["image"])

    images, _ = read_rows(chosen)
    paths = [Path(out_dir) / f"{stem}.png" for stem in chosen["stem"]]
    for path, image in zip(paths, images, strict=True):
        write_png(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return [str(path) for path in paths]
