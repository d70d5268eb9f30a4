"""Every run of a profile side by side: scores, per-class IoU, curves, size and speed."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facelib.params import model_name
from facelib.training import MODEL_FILE, run_dir


@dataclass
class Run:
    name: str
    spec: dict
    folder: Path
    metrics: dict
    history: pd.DataFrame

    @property
    def model_path(self) -> Path:
        return self.folder / MODEL_FILE


def load_runs(params: dict) -> list[Run]:
    """The finished runs of the profile's models, in the profile's order."""
    runs = []
    for spec in params["models"]:
        folder = run_dir(params, spec)
        metrics_file = folder / "metrics.json"
        if not metrics_file.exists():
            continue
        runs.append(Run(model_name(spec), spec, folder, json.loads(metrics_file.read_text()),
                        pd.read_csv(folder / "history.csv")))
    return runs


def comparison_table(runs: list[Run]) -> pd.DataFrame:
    """One row per run: architecture, backbone, mean scores, IoU of each class, then overall
    pixel accuracy and each class's pixel accuracy (its recall)."""
    rows = []
    for run in runs:
        m = run.metrics
        row = {"architecture": m["architecture"], "backbone": m["backbone"],
               **{s: m["mean"][s] for s in ("precision", "recall", "f1", "iou")},
               "iou_foreground": m["mean_foreground"]["iou"]}
        row.update({f"iou_{name}": m["per_class"][name]["iou"] for name in m["classes"]})
        row["pixel_accuracy"] = m.get("pixel_accuracy", np.nan)  # runs before it was scored
        row.update({f"accuracy_{name}": m["per_class"][name]["recall"] for name in m["classes"]})
        rows.append(row)
    return pd.DataFrame(rows)


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
    from facelib.models import load_model
    from facelib.predict import model_input_size

    rows = []
    for run in runs:
        model = load_model(run.model_path)
        size = model_input_size(model)
        speed = inference_speed(model, size, params["eval"]["batch_size"],
                                params["eval"]["timing_batches"])
        rows.append({"model": run.name, "parameters": model.count_params(), "input_px": size,
                     "images_per_second": speed})
    return pd.DataFrame(rows).set_index("model")
