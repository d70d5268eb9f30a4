"""Training: one code path for every architecture, the reference recipe by default.

Each model writes its run folder (`facelib.core.runs`). From shards, `split.csv` names each
pair's shard file and the test split is scored at the shard size (`evaluated_at` in
metrics.json says which). A run interrupted by Ctrl-C or SIGTERM resumes from its last
finished epoch when started again (`backup/`). Under `train.strategy: multiworker` only the
chief (`facelib.engine.workers.is_chief`) writes the run folder; every worker trains the
same number of steps per epoch from an endless share of the training split, so none runs
dry.
"""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pandas as pd
import tensorflow as tf
import yaml

from facelib.core.errors import FacelibError
from facelib.core.io import write_text
from facelib.core.params import ParamsError, model_name, params_for_model
from facelib.core.runs import METRICS_FILE, MODEL_FILE, Run, run_dir
from facelib.data.pipeline import make_dataset
from facelib.data.sources import data_source, load_splits
from facelib.engine.callbacks import BestModelSaver, CallbackState, EpochHistory, EpochLog
from facelib.engine.evaluate import evaluate_model, write_metrics
from facelib.engine.provenance import write_run_provenance
from facelib.engine.tensorboard import tensorboard_callback
from facelib.engine.workers import is_chief, results_written, wait_for_results, worker_count
from facelib.engine.xla import check_xla
from facelib.models import build_model, load_model, start_from_run
from facelib.models.losses import build_loss, build_metrics


class RunExistsError(FacelibError, ValueError):
    """A finished run with other params is in the way; `--force` replaces it."""


def select_models(params: dict, model: str | None) -> list[dict]:
    specs = params["models"]
    if model is None:
        return specs
    chosen = [s for s in specs if model_name(s) == model]
    if not chosen:
        names = ", ".join(model_name(s) for s in specs)
        raise ParamsError(f"--model {model!r} is not in this profile's models: {names}")
    return chosen


def train(params: dict, model: str | None = None, force: bool = False) -> list[Run]:
    """Train the profile's models in turn (or only `model`, e.g. "pspnet_resnet50")."""
    return [train_model(params, spec, force=force) for spec in select_models(params, model)]


def params_text(params: dict) -> str:
    return yaml.safe_dump(params, sort_keys=False)


def run_state(params: dict, spec: dict) -> str:
    """`finished` (same params), `stale` (finished with other params), `partial` or `new`."""
    folder = run_dir(params, spec)
    metrics, saved = folder / "metrics.json", folder / "params.yaml"
    if metrics.exists() and saved.exists():
        return "finished" if saved.read_text() == params_text(params) else "stale"
    return "partial" if (folder / "backup").exists() else "new"


def train_model(params: dict, spec: dict, force: bool = False) -> Run:
    """Train one model, evaluate it on the test split, write the run folder.

    The model trains with the profile's params and the overrides of its entry in `models`;
    the run folder's params.yaml holds the result."""

    params = params_for_model(params, spec)
    chief = is_chief(params)
    folder = run_dir(params, spec)
    name = model_name(spec)
    state = run_state(params, spec)
    if state == "finished" and not force:
        return Run(name, folder, Run.load(folder).metrics, skipped=True)
    if state == "stale" and not force:
        raise RunExistsError(
            f"{folder} holds a finished run with other params; use --force (or "
            "force=True) to replace it, or set output_dir to keep both"
        )
    if chief:
        if force or state == "stale":
            shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        write_text(folder / "params.pending.yaml", params_text(params))
    source = data_source(params)
    started = time.time()
    with _stop_on_signals():
        model, splits = _fit(params, spec, source, folder, chief)
    if not chief:  # the chief evaluates and writes the results
        wait_for_results(name, folder / METRICS_FILE, since=started)
        return Run(name, folder, {}, resumed=state == "partial")
    metrics = _evaluate(params, spec, source, model, splits, folder)
    write_run_provenance(folder, params_text(params), splits, source)
    write_text(folder / "params.yaml", params_text(params))
    (folder / "params.pending.yaml").unlink(missing_ok=True)
    shutil.rmtree(folder / "backup", ignore_errors=True)
    if worker_count(params) > 1:
        results_written(name)
    return Run(name, folder, metrics, resumed=state == "partial")


def configure_tensorflow(params: dict):
    """Seeds, determinism and precision policy; returns the distribution strategy."""

    tf.keras.utils.set_random_seed(params["seed"])
    if params["train"]["deterministic"]:
        tf.config.experimental.enable_op_determinism()
        # Grappler's arithmetic optimizer merges sums into AddN ops; the CPU AddN starts
        # from whichever input buffer it may reuse, which depends on which other ops are
        # done by then: the summation order, and so the weights, followed the machine's load.
        tf.config.optimizer.set_experimental_options({"arithmetic_optimization": False})
    tf.keras.mixed_precision.set_global_policy(params["train"]["precision"])
    strategy = params["train"]["strategy"]
    if strategy == "mirrored":  # every GPU, else every (logical) CPU device
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if strategy == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def build_optimizer(train_params: dict, steps_per_epoch: int | None = None):
    """Adam or SGD; with `lr_schedule: cosine`, a learning rate that decays every step over
    `epochs * steps_per_epoch` steps (the optimizer's step count survives a resume)."""

    learning_rate = train_params["learning_rate"]
    if train_params["lr_schedule"] == "cosine":
        if not steps_per_epoch:
            raise ValueError("train.lr_schedule = cosine needs the number of steps per epoch")
        learning_rate = tf.keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=train_params["epochs"] * steps_per_epoch,
            alpha=min(1.0, train_params["reduce_lr"]["min_lr"] / learning_rate))
    if train_params["optimizer"] == "adam":
        return tf.keras.optimizers.Adam(learning_rate)
    return tf.keras.optimizers.SGD(learning_rate, momentum=train_params["momentum"])


def compile_model(model, params: dict, steps_per_epoch: int | None = None) -> None:
    """Compile for `fit`. A model built under `train.precision: mixed_float16` gets its
    optimizer wrapped by Keras in a LossScaleOptimizer (dynamic loss scaling); with
    `train.xla: true`, a model XLA cannot train stops here (`facelib.engine.xla`)."""
    check_xla(model, params["train"])
    n_classes = len(params["data"]["classes"])
    model.compile(
        optimizer=build_optimizer(params["train"], steps_per_epoch),
        loss=build_loss(params["train"], n_classes),
        metrics=build_metrics(n_classes),
        jit_compile=params["train"]["xla"],
    )


def steps_per_epoch(params: dict, n_train: int) -> int:
    """Training steps per epoch: `train.steps_per_epoch`, or the full batches of the split."""
    return params["train"]["steps_per_epoch"] or n_train // params["train"]["batch_size"]


def _fit(params: dict, spec: dict, source, folder: Path, chief: bool = True):
    train_params = params["train"]
    splits = load_splits(params, source,
                         skipped_report=folder / "skipped.txt" if chief else None)
    if chief:
        write_split(splits, folder / "split.csv")
    multiworker = train_params["strategy"] == "multiworker"
    if multiworker:
        _check_shares(splits["train"], worker_count(params))
    strategy = configure_tensorflow(params)
    if multiworker:
        _stop_on_signals.rearm()
    fit_steps = train_params["steps_per_epoch"]
    if multiworker:
        # Workers' shares differ in size: a worker whose share ended would get empty batches
        # while the others still train. Endless shares and a fixed step count avoid that.
        fit_steps = fit_steps or steps_per_epoch(params, len(splits["train"]))
        train_data = make_dataset(splits["train"], params, training=True, source=source,
                                  repeat=True)
    else:
        train_data = make_dataset(splits["train"], params, training=True, source=source)
        if fit_steps:  # epochs of a fixed number of steps: never run dry
            train_data = train_data.repeat()
    val_data = make_dataset(splits["val"], params, training=False, source=source)
    steps = steps_per_epoch(params, len(splits["train"]))
    if params["data"]["face_crop"] and not train_params["steps_per_epoch"]:
        steps = int(train_data.cardinality())  # a sample per face, not per photo
    with strategy.scope():
        model = build_model(spec, params)
        init_report = start_from_run(model, params)
        compile_model(model, params, steps)
    if init_report:
        print(init_report.summary(), flush=True)  # a progress line, like the epochs
    model.fit(
        train_data,
        validation_data=val_data,
        epochs=train_params["epochs"],
        steps_per_epoch=fit_steps,
        callbacks=_callbacks(params, model_name(spec), folder, chief),
        verbose=0,
    )
    best = folder / MODEL_FILE
    return (load_model(best) if chief and best.exists() else model), splits


def _check_shares(pairs: list, workers: int) -> None:
    """Each worker trains on whole shard files or on every n-th pair: it needs one at least."""
    units = len({p.location for p in pairs})
    if units < workers:
        raise ParamsError(f"train.strategy = multiworker: {workers} workers, but the training "
                          f"split is in {units} file(s) (each worker reads whole shard files)"
                          "; use fewer workers or shards of fewer examples")


def write_split(splits: dict, path: Path) -> None:
    """Record which pair went to which split, so every later figure uses the same test set."""
    rows = [{"split": name, **p.split_row()} for name, pairs in splits.items() for p in pairs]
    write_text(path, pd.DataFrame(rows).to_csv(index=False))


def _callbacks(params: dict, name: str, folder: Path, chief: bool = True) -> list:


    train_params = params["train"]
    reduce_lr, stop = train_params["reduce_lr"], train_params["early_stopping"]
    schedule = [
        tf.keras.callbacks.EarlyStopping(monitor=stop["monitor"], patience=stop["patience"],
                                         verbose=1),
    ]
    if train_params["lr_schedule"] == "plateau":
        schedule.insert(0, tf.keras.callbacks.ReduceLROnPlateau(
            monitor=reduce_lr["monitor"], patience=reduce_lr["patience"],
            factor=reduce_lr["factor"], min_lr=reduce_lr["min_lr"], verbose=1))
    # BackupAndRestore comes last: an epoch counts as done only once its files are written.
    # The other workers read the chief's files and write none (BackupAndRestore's own
    # temporary backup/workertemp_N excepted, removed after each save).
    return [
        *([EpochHistory(folder / "history.csv")] if chief else []),
        EpochLog(name, train_params["epochs"]),
        *schedule,
        CallbackState(folder / "callbacks.json", schedule, write=chief),
        BestModelSaver(folder / MODEL_FILE, monitor=train_params["checkpoint_monitor"],
                       write=chief),
        *([tensorboard_callback(folder)] if train_params["tensorboard"] and chief else []),
        tf.keras.callbacks.BackupAndRestore(str(folder / "backup")),
    ]


def _evaluate(params: dict, spec: dict, source, model, splits: dict, folder: Path) -> dict:

    result = evaluate_model(model, splits["test"], params, source=source,
                            predictions_dir=folder / "test_predictions")
    metrics = {
        "architecture": spec["architecture"],
        "backbone": spec["backbone"],
        "image_size": params["data"]["image_size"],
        "n_images": len(splits["test"]),
        "evaluated_at": source.evaluated_at,
        "face_crop": params["data"]["face_crop"],
        "hflip": params["eval"]["hflip"],
        "scales": params["eval"]["scales"],
        "refine": params["eval"]["refine"],
        "faces": result["faces"],
        **result["metrics"],
    }
    write_metrics(folder, metrics, result["confusion"])
    return metrics


class _stop_on_signals:
    """Turn SIGTERM (and Ctrl-C) into KeyboardInterrupt so an interrupted fit unwinds alike.

    Once this process has its signal, any error that ends the fit is the interruption: the
    KeyboardInterrupt may be raised inside TensorFlow's C++ (saving a model, say), which then
    raises a SystemError of its own; under multiworker the worker stopped first aborts the
    collectives of the others, whose TensorFlow errors take the place of their own."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __enter__(self):
        self.received = None
        self._previous = {signum: signal.getsignal(signum) for signum in self.SIGNALS}
        try:
            for signum in self.SIGNALS:
                signal.signal(signum, self._raise)
        except ValueError:  # not the main thread: leave signals alone
            self._previous = None
        return self

    def _raise(self, signum, frame):
        self.received = signum
        raise KeyboardInterrupt(f"signal {signum}")

    @staticmethod
    def rearm():
        """Give SIGTERM back to Python's handler: MultiWorkerMirroredStrategy's coordination
        service installs TensorFlow's own (a preemption notice), which swallows the signal."""
        try:
            signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGTERM))
        except (TypeError, ValueError):  # no Python handler, or not the main thread
            pass

    def __exit__(self, kind, error, trace):
        if self._previous is not None:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
        if self.received is not None and isinstance(error, Exception):
            raise KeyboardInterrupt(f"signal {self.received}") from error
        return False
