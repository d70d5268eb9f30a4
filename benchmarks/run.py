"""Runs every part of the bench in order and returns its results (`facelib bench` prints them).

Timed parts are repeated and their medians reported; a speedup or ratio is the median of the
ratios of paired repeats, so a change of machine load between repeats cancels out.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import asdict

from benchmarks.common import FULL, QUICK, Settings, log, machine_info
from benchmarks.dataset import PHOTO_SCALE, bench_dataset, photo_sides
from benchmarks.inference import measure_inference
from benchmarks.loader import compare_loaders
from benchmarks.peer import measure_peer
from benchmarks.precision import measure_precision
from benchmarks.report import checks
from benchmarks.training import measure_training
from facelib.data.discover import find_pairs


def run_measurements(settings: Settings, progress: bool) -> dict:
    started = time.perf_counter()
    machine = machine_info()
    results = {"machine": machine, "settings": asdict(settings)}
    root = bench_dataset(settings, progress)
    pairs = find_pairs(root)
    train_pairs = [p for p in pairs if p.folder == "train"]
    eval_pairs = [p for p in pairs if p.folder == "val"]
    results["dataset"] = {"path": str(root), "source": f"facelib synth, upscaled x{PHOTO_SCALE}",
                          "train_pairs": len(train_pairs), "eval_pairs": len(eval_pairs),
                          **photo_sides(pairs)}
    loader = compare_loaders(train_pairs, settings.loader_size, settings.loader_batch,
                             settings.loader_repeats)
    results["loader"] = loader
    results["loader_speedup"] = loader["speedup_cold"]
    results["loader_speedup_cached"] = loader["speedup_cached"]
    # precision first: the training part turns op determinism on for the rest of the process
    results["precision"] = measure_precision(train_pairs, eval_pairs, settings)
    results["training"] = measure_training(train_pairs, settings)
    results["inference"] = measure_inference(eval_pairs, settings)
    results["peer"], results["peer_setup"] = measure_peer(settings)
    label_cpu(results, machine["cpu_tag"])
    results["checks"] = checks(results)
    results["machine"]["load_average_end"] = round(os.getloadavg()[0], 2)
    results["elapsed_s"] = time.perf_counter() - started
    log("done")
    return results


def label_cpu(results: dict, tag: str) -> None:
    """The CPU beside every figure in the JSON too: in each part, and in each model's row."""
    for part in ("loader", "precision", "peer_setup"):
        results[part]["cpu"] = tag
    for part in ("training", "inference", "peer"):
        for row in results[part].values():
            row["cpu"] = tag


def run_bench(quick: bool = False) -> dict:
    """Every part, with library chatter kept off stdout (which carries only the results)."""
    settings = QUICK if quick else FULL
    with contextlib.redirect_stdout(sys.stderr):
        return run_measurements(settings, progress=sys.stderr.isatty())
