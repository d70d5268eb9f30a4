"""Part 2, training: images/s of each reference architecture fed by the pipeline (augmented,
cached) and by one batch held in memory, with facelib's default training settings.

`pipeline_vs_memory` near 1 means training is not input-bound; what training needs is at
least `PIPELINE_VS_MEMORY_GOAL`.
"""

from __future__ import annotations

import statistics
import time

import tensorflow as tf

from benchmarks.common import Settings, bench_params, log, median_ratio
from facelib.core.params import model_name
from facelib.data.pipeline import make_dataset
from facelib.engine.training import compile_model, configure_tensorflow
from facelib.models import build_model

PIPELINE_VS_MEMORY_GOAL = 0.95  # the pipeline-fed step rate against the in-memory one (issue 18)


def fit_images_per_second(model, dataset, batch_size: int, steps: int) -> float:
    """Images/s of `steps` training steps, timed from the end of one untimed first step."""
    ends: list[float] = []
    clock = tf.keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: ends.append(time.perf_counter()))
    model.fit(dataset, epochs=1, steps_per_epoch=steps + 1, verbose=0, callbacks=[clock])
    return steps * batch_size / (ends[-1] - ends[0])


def cached_training_data(pairs, params: dict):
    """The training pipeline (augmented, cache filled by a first epoch) and one of its batches."""
    dataset = make_dataset(pairs, params, training=True, cache=True)
    batches = iter(dataset)
    first = next(batches)
    for _ in batches:  # the rest of the first epoch, which fills the cache
        pass
    return dataset.repeat(), first


def compare_feeds(model, pipeline, batch, batch_size: int, steps: int, repeats: int) -> dict:
    """Training images/s fed by `pipeline` and by `batch` held in memory, interleaved; the
    ratio is the median of the ratios of paired repeats."""
    in_memory = tf.data.Dataset.from_tensors(batch).repeat()
    rates: dict[str, list[float]] = {"pipeline": [], "in_memory": []}
    for _ in range(repeats):
        rates["pipeline"].append(fit_images_per_second(model, pipeline, batch_size, steps))
        rates["in_memory"].append(fit_images_per_second(model, in_memory, batch_size, steps))
    return {
        "pipeline_ips": statistics.median(rates["pipeline"]),
        "in_memory_ips": statistics.median(rates["in_memory"]),
        "pipeline_vs_memory": median_ratio(rates["pipeline"], rates["in_memory"]),
    }


def measure_training(pairs, settings: Settings) -> dict:
    """Part 2 for each reference architecture, with facelib's default training settings."""
    params = bench_params(settings.train_size, settings.train_batch)
    results = {}
    for spec in params["models"]:
        name = model_name(spec)
        log(f"training: {name} at {settings.train_size} px, batch {settings.train_batch}, "
            f"{settings.train_repeats} x {settings.train_steps} steps per feed")
        tf.keras.backend.clear_session()
        configure_tensorflow(params)
        pipeline, batch = cached_training_data(pairs, params)
        model = build_model(spec, params)
        compile_model(model, params)
        results[name] = {"size": settings.train_size, "batch_size": settings.train_batch,
                         "steps": settings.train_steps,
                         **compare_feeds(model, pipeline, batch, settings.train_batch,
                                         settings.train_steps, settings.train_repeats)}
    return results
