"""Runs side by side: scores, the params they differ in, per-class IoU, size and speed."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from facelib.core.errors import UsageError
from facelib.core.provenance import read_provenance
from facelib.core.runs import METRICS_FILE, Run
from facelib.engine.predict import model_input_size, predictor
from facelib.models import load_model

# Params that differ between runs without being a choice of recipe.
NOT_COMPARED = ("profile", "output_dir", "models")
SHORT_HASH = 12  # hex digits of a commit or fingerprint shown in the comparison


class DifferentDataWarning(UserWarning):
    """Runs of one comparison were trained or scored on different data."""


def flat_params(tree: dict, prefix: str = "") -> dict:
    """`{"train": {"epochs": 4}}` -> `{"train.epochs": 4}`; lists become text."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict) and key != "classes":
            flat.update(flat_params(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = "+".join(map(str, value)) if isinstance(value, list) else (
                str(value) if isinstance(value, dict) else value)
    return flat


def varied_params(runs: list[Run]) -> list[str]:
    """The params keys whose values differ between the runs (as their params.yaml say)."""
    flats = [flat_params({k: v for k, v in run.params.items() if k not in NOT_COMPARED})
             for run in runs]
    keys = dict.fromkeys(key for flat in flats for key in flat)
    return [key for key in keys if len({repr(flat.get(key)) for flat in flats}) > 1]


def comparison_table(runs: list[Run]) -> pd.DataFrame:
    """One row per run, best mean IoU first: its name, architecture, backbone, the params
    that differ between the runs, mean scores, IoU of each class, overall pixel accuracy and
    each class's pixel accuracy (its recall), then the commit (`+dirty`
    when tracked files differed from it) and the data fingerprint of its `provenance.json`
    (empty for a run without one). Warns (DifferentDataWarning) when the runs' data
    fingerprints differ."""
    varied = varied_params(runs) if len(runs) > 1 else []
    rows = []
    for run in runs:
        m = run.metrics
        flat = flat_params(run.params) if varied else {}
        row = {"model": run.name, "architecture": m["architecture"], "backbone": m["backbone"],
               **{key: flat.get(key) for key in varied},
               **{s: m["mean"][s] for s in ("precision", "recall", "f1", "iou")},
               "iou_foreground": m["mean_foreground"]["iou"]}
        row.update({f"iou_{name}": m["per_class"][name]["iou"] for name in m["classes"]})
        row["pixel_accuracy"] = m.get("pixel_accuracy", np.nan)  # runs before it was scored
        row.update({f"accuracy_{name}": m["per_class"][name]["recall"] for name in m["classes"]})
        row.update(provenance_columns(run))
        rows.append(row)
    message = different_data(runs)
    if message:
        warnings.warn(message, DifferentDataWarning, stacklevel=2)
    table = pd.DataFrame(rows)
    return table.sort_values("iou", ascending=False, kind="stable").reset_index(drop=True)


def runs_in(folders: list[str | Path]) -> list[Run]:
    """The finished runs under each output folder's `runs/`; named `FOLDER/RUN` when there
    are several folders."""
    runs = []
    for folder in map(Path, folders):
        if not (folder / "runs").is_dir():
            raise UsageError(f"{folder}: no runs/ folder (an output folder of facelib run, "
                             "train or sweep)")
        for run_folder in sorted((folder / "runs").iterdir()):
            if (run_folder / METRICS_FILE).exists():
                name = f"{folder.name}/{run_folder.name}" if len(folders) > 1 else None
                runs.append(Run.load(run_folder, name))
    if not runs:
        raise UsageError(f"no finished runs in {', '.join(map(str, folders))}")
    return runs


def provenance_columns(run: Run) -> dict:
    """`git_commit` and `data_fingerprint` of a run, shortened; None where not recorded."""
    record = read_provenance(run.folder) or {}
    commit = record.get("git_commit")
    if commit:
        commit = commit[:SHORT_HASH] + ("+dirty" if record.get("git_dirty") else "")
    data = record.get("data_fingerprint")
    return {"git_commit": commit, "data_fingerprint": data[:SHORT_HASH] if data else None}


def different_data(runs: list[Run]) -> str | None:
    """A one-line note naming the runs of each data fingerprint when they differ (runs
    without provenance count as unknown data), else None."""
    groups: dict[str | None, list[str]] = {}
    for run in runs:
        data = (read_provenance(run.folder) or {}).get("data_fingerprint")
        groups.setdefault(data[:SHORT_HASH] if data else None, []).append(run.name)
    if len(groups) < 2:
        return None
    parts = "; ".join(f"{key or 'unknown'}: {', '.join(names)}" for key, names in groups.items())
    return f"these runs were trained on different data (data fingerprints {parts})"


def per_class_iou(runs: list[Run]) -> pd.DataFrame:
    return pd.DataFrame(
        {name: run.metrics["per_class"][name]["iou"] for name in run.metrics["classes"]}
        for run in runs
    ).set_axis([run.name for run in runs])


def inference_speed(model, image_size: int, batch_size: int, batches: int) -> float:
    """Images per second of the model's forward pass as facelib predicts with it
    (`predictor`), on random images, after one warm-up batch."""
    batch = np.random.default_rng(0).uniform(0, 255, (batch_size, image_size, image_size, 3))
    batch = tf.constant(batch.astype(np.float32))
    forward = predictor(model)
    forward(batch).numpy()
    start = time.perf_counter()
    for _ in range(batches):
        forward(batch).numpy()
    return batch_size * batches / (time.perf_counter() - start)


def model_costs(runs: list[Run], params: dict) -> pd.DataFrame:
    """Parameter count, input side and inference speed (images/s) of each run's model."""

    rows = []
    for run in runs:
        model = load_model(run.model_path)
        size = model_input_size(model)
        speed = inference_speed(model, size, params["eval"]["batch_size"],
                                params["eval"]["timing_batches"])
        rows.append({"model": run.name, "parameters": model.count_params(), "input_px": size,
                     "images_per_second": speed})
    return pd.DataFrame(rows).set_index("model")
