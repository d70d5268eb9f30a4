"""The peer section: facelib's training step against the same step in
segmentation_models_pytorch (smp), the library a user would pick instead.

For each model of `PEER_MODELS` (the demo's U-Net and DeepLabV3+ on EfficientNetB0, at the
demo's size, batch and widths, read from `params/demo.yaml`), each framework trains from
scratch in its own Python process (`benchmarks.peer_facelib`, `benchmarks.peer_smp`) with
Adam and dice + cross-entropy on one in-memory batch, and reports images/s over timed steps
after warm-up ones. The processes run one at a time, interleaved (facelib, smp, facelib,
smp, ...), so a change of load on the machine touches both; the ratio is the median of the
ratios of the rounds. PyTorch runs on `TORCH_THREADS` threads, TensorFlow with its default
thread pools (as many threads as cores).

The section runs only where `torch` and `segmentation_models_pytorch` are installed
(`pip install -e ".[peer]"`); elsewhere it says so and is skipped. `python -m benchmarks.peer
[--quick]` runs this section alone and prints its JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys

import numpy as np

from benchmarks.common import (
    FULL,
    QUICK,
    Settings,
    cpu_info,
    cpu_tag,
    first_line,
    log,
    median_ratio,
    rounded,
)
from facelib.core.params import load_params, params_for_model, resolve_path

PEER_PROFILE = "params/demo.yaml"
PEER_MODELS = ("unet_efficientnetb0", "deeplabv3plus_efficientnetb0")
PEER_LOSS = ["dice", "cce"]
TORCH_THREADS = 2
WARMUP_STEPS = 2  # untimed steps first in each process (tracing, oneDNN primitive caches)
PROFILE_STEPS = 3  # profiled after the timed ones, so the profiler never slows a timed step
PEER_PACKAGES = ("torch", "segmentation_models_pytorch")
WORKERS = {"facelib": "benchmarks.peer_facelib", "smp": "benchmarks.peer_smp"}
BATCH_SEED = 0  # both workers train on the same batch, drawn from this seed


class PeerError(RuntimeError):
    """A peer worker process failed; the message is its last error line."""


def missing_packages() -> list[str]:
    return [name for name in PEER_PACKAGES if importlib.util.find_spec(name) is None]


def peer_params(model: str, size: int, batch_size: int) -> dict:
    """The params both frameworks train `model` with: the demo profile's (with its entry's
    overrides), at `size` and `batch_size`, Adam at a constant rate, dice + cross-entropy."""
    overrides = {"data": {"image_size": size},
                 "train": {"batch_size": batch_size, "optimizer": "adam",
                           "lr_schedule": "plateau", "loss": PEER_LOSS}}
    params = load_params(resolve_path(PEER_PROFILE), overrides=overrides)
    spec = next((s for s in params["models"] if f"{s['architecture']}_{s['backbone']}" == model),
                None)
    if spec is None:
        raise ValueError(f"{PEER_PROFILE}: has no model {model}; the peer section needs "
                         f"{', '.join(PEER_MODELS)}")
    params = params_for_model(params, spec)
    params["data"]["image_size"], params["train"]["batch_size"] = size, batch_size
    return params


def training_batch(size: int, batch_size: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(images float32 0..255 NHWC, labels int64 NHW), the same in both workers."""
    rng = np.random.default_rng(BATCH_SEED)
    images = rng.uniform(0, 255, (batch_size, size, size, 3)).astype(np.float32)
    labels = rng.integers(0, n_classes, (batch_size, size, size))
    return images, labels


def worker_command(framework: str, model: str, settings: Settings) -> list[str]:
    return [sys.executable, "-m", WORKERS[framework], "--model", model,
            "--size", str(settings.peer_size), "--batch", str(settings.peer_batch),
            "--steps", str(settings.peer_steps), "--warmup", str(WARMUP_STEPS),
            "--profile-steps", str(PROFILE_STEPS)]


def run_worker(command: list[str]) -> dict:
    """Run one worker process; its result is the JSON object on its last stdout line."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        errors = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise PeerError(errors[-1] if errors else f"exit code {done.returncode}")
    return json.loads(lines[-1])


def interleaved(models, frameworks, rounds: int, run) -> dict:
    """`run(framework, model)` for every model, `rounds` times, alternating the frameworks
    (A B A B per model); returns {model: {framework: [results in round order]}}."""
    results: dict = {model: {framework: [] for framework in frameworks} for model in models}
    for round_ in range(rounds):
        for model in models:
            for framework in frameworks:
                log(f"peer: {model} in {framework}, round {round_ + 1} of {rounds}")
                results[model][framework].append(run(framework, model))
    return results


def summarize(runs: dict) -> dict:
    """{model: facelib_ips, smp_ips, ratio (median of the rounds' ratios), the rounds' figures,
    the CPU time per image (all threads, OpenMP's spinning included), and
    what each framework's network is: parameters, convolution GMACs per image, and where
    the first round's step time went, by op (`benchmarks.op_profile`)}."""
    summary = {}
    for model, by_framework in runs.items():
        facelib, smp = by_framework["facelib"], by_framework["smp"]
        facelib_ips = [run["ips"] for run in facelib]
        smp_ips = [run["ips"] for run in smp]
        summary[model] = {
            "facelib_ips": statistics.median(facelib_ips),
            "smp_ips": statistics.median(smp_ips),
            "ratio": median_ratio(facelib_ips, smp_ips),
            "facelib_runs_ips": facelib_ips,
            "smp_runs_ips": smp_ips,
            "facelib_cpu_ms_per_image": statistics.median(r["cpu_ms_per_image"] for r in facelib),
            "smp_cpu_ms_per_image": statistics.median(r["cpu_ms_per_image"] for r in smp),
            "facelib_parameters": facelib[0]["parameters"],
            "smp_parameters": smp[0]["parameters"],
            "facelib_conv_gmacs": facelib[0]["conv_gmacs"],
            "smp_conv_gmacs": smp[0]["conv_gmacs"],
            "facelib_op_times": facelib[0]["op_times"],
            "smp_op_times": smp[0]["op_times"],
        }
    return summary


def measure_peer(settings: Settings) -> tuple[dict, dict]:
    """(`peer`: model -> figures, `peer_setup`: how they were taken, or why they were not)."""
    setup = {"models": list(PEER_MODELS), "profile": PEER_PROFILE, "size": settings.peer_size,
             "batch_size": settings.peer_batch, "optimizer": "adam",
             "loss": " + ".join(PEER_LOSS), "timed_steps": settings.peer_steps,
             "warmup_steps": WARMUP_STEPS, "profiled_steps": PROFILE_STEPS,
             "rounds": settings.peer_repeats,
             "order": "interleaved: facelib, smp, facelib, smp (one process each)",
             "threads": {"smp": f"torch.set_num_threads({TORCH_THREADS}), OMP_WAIT_POLICY "
                                f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}",
                         "facelib": "TensorFlow's default thread pools"}}
    missing = missing_packages()
    if missing:
        setup["skipped"] = (f"{' and '.join(missing)} not installed: pip install -e \".[peer]\" "
                            "to compare with segmentation_models_pytorch")
        return {}, setup
    try:  # the workers read the demo profile: a checkout's params/ must be there
        for model in PEER_MODELS:
            peer_params(model, settings.peer_size, settings.peer_batch)
    except ValueError as error:  # ParamsError too
        setup["skipped"] = first_line(error)
        return {}, setup
    load_before = os.getloadavg()[0]
    try:
        runs = interleaved(PEER_MODELS, ("facelib", "smp"), settings.peer_repeats,
                           lambda framework, model: run_worker(
                               worker_command(framework, model, settings)))
    except PeerError as error:
        setup["skipped"] = f"a worker failed: {first_line(error)}"
        return {}, setup
    setup["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    first = next(iter(runs.values()))
    setup["versions"] = {framework: results[0]["versions"] for framework, results in first.items()}
    setup["notes"] = {framework: results[0]["notes"] for framework, results in first.items()}
    return summarize(runs), setup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peer",
                                     description="the bench's peer section alone, as JSON")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    with contextlib.redirect_stdout(sys.stderr):
        figures, setup = measure_peer(QUICK if args.quick else FULL)
    setup["cpu"] = cpu_tag(cpu_info())
    print(json.dumps(rounded({"peer": figures, "peer_setup": setup}), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
