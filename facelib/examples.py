"""Fixed test images predicted by one or more trained runs, for the notebooks' figures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facelib.scheme import ClassScheme


@dataclass
class Examples:
    stems: list[str]
    images: list[np.ndarray]
    truths: list[np.ndarray]
    predictions: dict[str, list[np.ndarray]]


def test_pairs(run_dir: Path) -> pd.DataFrame:
    """The test split a run was scored on (its `split.csv`), sorted by stem."""
    split = pd.read_csv(Path(run_dir) / "split.csv")
    return split[split["split"] == "test"].sort_values("stem").reset_index(drop=True)


def example_pairs(run_dir: Path, count: int) -> pd.DataFrame:
    """`count` fixed test pairs, one per subject (first frames of the first subjects)."""
    return test_pairs(run_dir).drop_duplicates("subject").head(count)


def predict_examples(params: dict, run_dirs: dict[str, Path], count: int) -> Examples:
    """`count` fixed test images (see `example_pairs`), their truth and each run's prediction."""
    from facelib.evaluate import read_label_map
    from facelib.models import load_model
    from facelib.predict import predict_images, read_image
    from facelib.training import MODEL_FILE

    scheme = ClassScheme.from_params(params["data"]["classes"])
    chosen = example_pairs(next(iter(run_dirs.values())), count)
    images = [read_image(path) for path in chosen["image"]]
    truths = [scheme.remap(read_label_map(path)) for path in chosen["mask"]]
    predictions = {
        name: predict_images(load_model(Path(folder) / MODEL_FILE), images)
        for name, folder in run_dirs.items()
    }
    return Examples(list(chosen["stem"]), images, truths, predictions)
