"""Keras callbacks that keep a run's files whole and resumable."""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
import time
from pathlib import Path

import tensorflow as tf

from facelib.core.io import write_json, write_text
from facelib.models import save_model


class EpochLog(tf.keras.callbacks.Callback):
    """One line per finished epoch on stdout: `NAME epoch 3/12: loss 0.41 - val_iou_score
    0.62 - 14 s` (what `facelib run` passes on to the terminal)."""

    SHOWN = ("loss", "iou_score", "val_loss", "val_iou_score")

    def __init__(self, name: str, epochs: int):
        super().__init__()
        self.name, self.epochs = name, epochs

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        scores = " - ".join(f"{key} {logs[key]:.4f}" for key in self.SHOWN if key in logs)
        seconds = time.perf_counter() - self._start
        print(f"{self.name} epoch {epoch + 1}/{self.epochs}: {scores} - {seconds:.0f} s",
              flush=True)


class EpochHistory(tf.keras.callbacks.Callback):
    """`history.csv` with one row per epoch (`epoch` from 0) and the learning rate of the
    epoch's last step.

    The file is rewritten atomically each epoch; after a resume, rows of epochs that are
    trained again are replaced, so every epoch is listed exactly once. Put it before any
    callback that changes the learning rate at the end of an epoch.
    """

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs=None):
        rows = [r for r in self._read() if int(r["epoch"]) < epoch]
        row = {"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}}
        row["learning_rate"] = float(tf.keras.backend.get_value(self.model.optimizer.learning_rate))
        rows.append(row)
        columns = list(dict.fromkeys(k for r in rows for k in r))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        write_text(self.path, buffer.getvalue())

    def _read(self) -> list[dict]:
        if not self.path.exists():
            return []
        with open(self.path, newline="") as f:
            return list(csv.DictReader(f))


class BestModelSaver(tf.keras.callbacks.Callback):
    """Save the model whenever `monitor` reaches a new maximum; the best value survives resumes.

    `write=False` (a worker other than the chief): the same saves, into a temporary folder
    that is removed at once. Every worker must save, as reading the model's on-read
    variables (batch-norm statistics) is a collective; it reads the chief's best value.
    """

    def __init__(self, path: Path, monitor: str = "val_iou_score", write: bool = True):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.write = write
        self.state_path = self.path.with_suffix(".best.json")
        self.best = -math.inf

    def on_train_begin(self, logs=None):
        if self.state_path.exists() and self.path.exists():
            self.best = json.loads(self.state_path.read_text())["best"]

    def on_epoch_end(self, epoch, logs=None):

        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(f"train.checkpoint_monitor = {self.monitor!r} is not logged; "
                           f"logged: {', '.join(sorted(logs or {}))}")
        if value > self.best:
            self.best = float(value)
            if not self.write:
                with tempfile.TemporaryDirectory(prefix="facelib-worker-") as folder:
                    save_model(self.model, Path(folder) / self.path.name)
                return
            save_model(self.model, self.path)
            write_json(self.state_path, {"best": self.best, "epoch": epoch})


class CallbackState(tf.keras.callbacks.Callback):
    """Carry the counters of ReduceLROnPlateau and EarlyStopping across a resume.

    BackupAndRestore restores weights, optimizer (with its learning rate) and the epoch;
    this restores the patience counters, so the schedule continues as if never stopped.
    Put it after the callbacks it watches: their on_train_begin resets what it restores.
    `write=False` (a worker other than the chief) restores the chief's counters, writes none.
    """

    FIELDS = ("wait", "best", "cooldown_counter", "stopped_epoch")

    def __init__(self, path: Path, callbacks: list, write: bool = True):
        super().__init__()
        self.path = Path(path)
        self.watched = callbacks
        self.write = write

    def on_train_begin(self, logs=None):
        if not self.path.exists():
            return
        saved = json.loads(self.path.read_text())
        for callback, state in zip(self.watched, saved, strict=False):
            for field, value in state.items():
                setattr(callback, field, value)

    def on_epoch_end(self, epoch, logs=None):
        if not self.write:
            return
        state = [
            {f: _plain(getattr(c, f)) for f in self.FIELDS if hasattr(c, f)}
            for c in self.watched
        ]
        write_json(self.path, state)

    def on_train_end(self, logs=None):
        if self.write:
            self.path.unlink(missing_ok=True)


def _plain(value):
    return float(value) if isinstance(value, (float, int)) or hasattr(value, "item") else value
