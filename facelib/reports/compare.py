"""Runs side by side: scores, the params they differ in, per-class IoU, size and speed."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from facelib.core.errors import UsageError
from facelib.core.runs import METRICS_FILE, Run
from facelib.engine.predict import model_input_size
from facelib.models import load_model

# Params that differ between runs without being a choice of recipe.
NOT_COMPARED = ("profile", "output_dir", "models")


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
    that differ between the runs, mean scores, then IoU of each class."""
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
        rows.append(row)
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


def per_class_iou(runs: list[Run]) -> pd.DataFrame:
    return pd.DataFrame(
        {name: run.metrics["per_class"][name]["iou"] for name in run.metrics["classes"]}
        for run in runs
    ).set_axis([run.name for run in runs])


def inference_speed(model, image_size: int, batch_size: int, batches: int) -> float:
    """Images per second of `model.predict_on_batch` on random images (after one warm-up)."""
    batch = np.random.default_rng(0).uniform(0, 255, (batch_size, image_size, image_size, 3))
    batch = batch.astype(np.float32)
    model.predict_on_batch(batch)
    start = time.perf_counter()
    for _ in range(batches):
        model.predict_on_batch(batch)
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
