"""What every part of the bench shares: its settings, params, timing helpers and the machine.

Params come from `facelib.core.params.load_params` with overrides, so the checks of every
params file apply to the bench's too.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from facelib.core.params import load_params

NO_AUGMENT = {"hflip": False, "rotate_degrees": 0.0, "scale": 0.0, "brightness": 0.0,
              "contrast": 0.0, "saturation": 0.0, "hue": 0.0}
# /proc/cpuinfo flags behind each feature the results depend on (any flag of a tuple counts)
CPU_FEATURES = {"avx2": ("avx2",), "avx512": ("avx512f",), "bf16": ("avx512_bf16", "amx_bf16"),
                "amx": ("amx_tile",)}
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
PERFORMANCE_VARIABLES = ("TF_CPU_ALLOCATOR_USE_BFC", "TF_ENABLE_ONEDNN_OPTS", "OMP_NUM_THREADS")


@dataclass(frozen=True)
class Settings:
    """Sizes, counts and repeats of one bench run."""

    train_pairs: int
    eval_pairs: int
    loader_repeats: int
    train_size: int  # training throughput (part 2)
    train_repeats: int
    train_steps: int  # timed steps per feed and repeat
    precision_steps: int  # training steps per precision config
    precision_xla: bool  # whether the XLA configs run (compiling takes a while)
    inference_repeats: int
    peer_repeats: int  # interleaved rounds of the peer comparison (each: facelib, then smp)
    peer_steps: int  # timed training steps per peer measurement
    seed: int = 7
    loader_size: int = 256
    loader_batch: int = 32
    train_batch: int = 8
    precision_size: int = 128
    inference_size: int = 256
    inference_batch: int = 16
    peer_size: int = 128
    peer_batch: int = 8


FULL = Settings(train_pairs=256, eval_pairs=32, loader_repeats=3, train_size=256,
                train_repeats=3, train_steps=10, precision_steps=40, precision_xla=True,
                inference_repeats=3, peer_repeats=2, peer_steps=10)
QUICK = Settings(train_pairs=64, eval_pairs=16, loader_repeats=2, train_size=128,
                 train_repeats=1, train_steps=3, precision_steps=6, precision_xla=False,
                 inference_repeats=1, peer_repeats=1, peer_steps=5)

_STARTED = time.perf_counter()


def log(message: str) -> None:
    """Progress on stderr (stdout carries only the results), with the seconds so far."""
    print(f"[bench {time.perf_counter() - _STARTED:4.0f}s] {message}", file=sys.stderr,
          flush=True)


def median_ratio(numerators: list[float], denominators: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def median_seconds(action, repeats: int) -> float:
    """Median duration of `action()` over `repeats` calls, after one untimed call."""
    action()
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


def rounded(value, digits: int = 3):
    """Floats rounded to `digits` significant digits, inside dicts and lists too."""
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item, digits) for item in value]
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    return value


def first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:200]


def bench_params(size: int, batch_size: int, augment: dict | None = None, **train) -> dict:
    """facelib's checked defaults at `size` and `batch_size`, with other `train` settings."""
    overrides: dict = {"data": {"image_size": size}, "train": {"batch_size": batch_size, **train}}
    if augment is not None:
        overrides["data"]["augment"] = augment
    return load_params(overrides=overrides)


def cpu_info(cpuinfo: str | None = None) -> dict:
    """Model name, logical cores and the features of `CPU_FEATURES`, from /proc/cpuinfo."""
    if cpuinfo is None:
        cpuinfo = ""
        with contextlib.suppress(OSError):
            cpuinfo = Path("/proc/cpuinfo").read_text()
    flags: set[str] = set()
    model = platform.processor() or platform.machine()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags" and not flags:
            flags = set(value.split())
        elif key.strip() == "model name":
            model = value.strip()
    return {"model": model, "cores": os.cpu_count(),
            "features": {name: any(flag in flags for flag in wanted)
                         for name, wanted in CPU_FEATURES.items()},
            "flags": [flag for flag in CPU_FLAGS if flag in flags]}


def cpu_tag(cpu: dict) -> str:
    """One line naming the CPU and its features, shown beside every figure of the bench."""
    features = " ".join(("" if present else "no ") + name.upper().replace("AVX512", "AVX-512")
                        for name, present in cpu["features"].items())
    return f"{cpu['model']}, {cpu['cores']} cores, {features}"


def machine_info() -> dict:
    import tensorflow as tf  # lazy: the peer's PyTorch worker imports this module without it

    cpu = cpu_info()
    return {
        "cpu": cpu["model"],
        "cpu_count": cpu["cores"],
        "cpu_features": cpu["features"],
        "cpu_flags": cpu["flags"],
        "cpu_tag": cpu_tag(cpu),
        "environment": {name: os.environ[name] for name in PERFORMANCE_VARIABLES
                        if name in os.environ},
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average_start": round(os.getloadavg()[0], 2),
    }
