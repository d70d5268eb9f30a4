"""Fixed test images predicted by one or more trained runs, for the notebooks' figures."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from facelib.core.runs import MODEL_FILE
from facelib.core.scheme import ClassScheme
from facelib.data.crops import CropSettings
from facelib.data.sources import data_source
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
    source = data_source(params)
    pairs = source.pairs_of_split(example_pairs(next(iter(run_dirs.values())), count))
    stems, images, masks = (list(column) for column in zip(*source.read(pairs), strict=True))
    truths = [scheme.remap(mask) for mask in masks]
    predictions = {name: predict_run(Path(folder) / MODEL_FILE, images)
                   for name, folder in run_dirs.items()}
    return Examples(stems, images, truths, predictions)


def predict_run(model_file: Path, images: list[np.ndarray]) -> list[np.ndarray]:
    """Label maps of `images` by a run's model, the way `facelib predict` makes them."""
    model = load_model(model_file)
    settings = replace(CropSettings.from_params(run_params(model_file)),
                       size=model_input_size(model))
    return [photo.labels for photo in segment_photos(model, images, settings)]


def example_photos(params: dict, run_dir: Path, count: int, out_dir: Path) -> list[str]:
    """Photo files of `count` fixed test pairs (`example_pairs`): the dataset's own files;
    from shards, their photos at the shard size written to `out_dir/STEM.png`."""
    source = data_source(params)
    return source.photo_files(source.pairs_of_split(example_pairs(run_dir, count)), out_dir)
