"""The run folder: where one trained model and its records live, and the `Run` that names it.

A run lives in `<output_dir>/runs/<model name>/`: `model.keras` (best val IoU),
`history.csv` (one row per epoch, `epoch` from 0), `params.yaml` (the params it trained
with), `split.csv` (every pair's split), `skipped.txt` (pairs left out, if any),
`metrics.json` and `confusion.csv` (test split), `provenance.json` (what made it) and
`test_predictions/STEM.png`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from facelib.core.errors import UsageError
from facelib.core.params import model_name, output_dir

MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.csv"
PARAMS_FILE = "params.yaml"


def run_dir(params: dict, spec: dict) -> Path:
    return output_dir(params) / "runs" / model_name(spec)


def model_path(path: str | Path) -> Path:
    """A model file as given, or the model file of a run folder."""
    path = Path(path)
    return path / MODEL_FILE if path.is_dir() else path


@dataclass
class Run:
    """A trained model's run folder and its test metrics (`resumed`/`skipped`: how this
    process got it, when it trained it)."""

    name: str
    folder: Path
    metrics: dict
    resumed: bool = False
    skipped: bool = False

    @property
    def model_path(self) -> Path:
        return self.folder / MODEL_FILE

    @property
    def params(self) -> dict:
        """The params it trained with (its params.yaml; {} for a run folder without one)."""
        path = self.folder / PARAMS_FILE
        return yaml.safe_load(path.read_text()) if path.exists() else {}

    @property
    def history(self) -> pd.DataFrame:
        return pd.read_csv(self.folder / HISTORY_FILE)

    @classmethod
    def load(cls, folder: str | Path, name: str | None = None) -> Run:
        folder = Path(folder)
        metrics = json.loads((folder / METRICS_FILE).read_text())
        return cls(name or folder.name, folder, metrics)


def best_run(runs: list[Run], score: str = "iou") -> Run:
    """The run with the highest mean `score` over all classes."""
    if not runs:
        raise UsageError("no finished run to choose from: train the profile's models first "
                         "(facelib train PARAMS.yaml, or the 02_train notebook)")
    return max(runs, key=lambda run: run.metrics["mean"][score])


def finished_runs(params: dict) -> list[Run]:
    """The finished runs of the profile's models, in the profile's order."""
    folders = ((model_name(spec), run_dir(params, spec)) for spec in params["models"])
    return [Run.load(folder, name) for name, folder in folders
            if (folder / METRICS_FILE).exists()]
