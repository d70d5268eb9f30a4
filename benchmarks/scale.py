"""How validation and class statistics scale: time and peak memory on N synthetic pairs.

    python -m benchmarks.scale N OUT [--size 512] [--workers W] [--shards S] [--clean]

writes N quick pairs (random shapes, S x S photo and mask of source ids, 4 per subject, one
in five in val/) into OUT (resumable: finished pairs are kept), then runs each measured step
in a fresh Python process (so one step's memory does not count for the next) and prints one
line per step and a JSON summary: seconds, and the peak resident memory of that process
(`ru_maxrss`) and of the largest of its child processes, if any (a forked child inherits
its parent's memory figure at the fork: importing TensorFlow forks one, so for the shards
step that figure is not extra memory). Steps: `validate_dataset`,
`class_pixel_counts`, and with `--shards S`, `write_shards` at S px. `--clean` deletes OUT at
the end. The pairs are not faces: they exercise file reading and decoding, not a model.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from facelib.core.io import atomic_path

PAIRS_PER_SUBJECT = 4
VAL_EVERY = 5  # every fifth subject goes to val/
STEPS = ("validate", "class_pixel_counts", "shards")


def pair_location(index: int) -> tuple[str, str]:
    """(folder, stem) of pair `index`."""
    subject = index // PAIRS_PER_SUBJECT
    folder = "val" if subject % VAL_EVERY == VAL_EVERY - 1 else "train"
    return folder, f"s{subject:06d}_{index % PAIRS_PER_SUBJECT}"


def draw_pair(index: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A photo and mask of random ellipses and boxes, each shape one source id and colour."""
    rng = np.random.default_rng(index)
    image = np.empty((size, size, 3), np.uint8)
    image[:] = rng.integers(0, 256, 3)
    mask = np.zeros((size, size), np.uint8)
    for _ in range(12):
        source_id = int(rng.integers(1, 18))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cx, cy = (int(v) for v in rng.integers(0, size, 2))
        rx, ry = (int(v) for v in rng.integers(size // 32, size // 4, 2))
        if rng.random() < 0.5:
            cv2.ellipse(image, (cx, cy), (rx, ry), 0, 0, 360, colour, -1)
            cv2.ellipse(mask, (cx, cy), (rx, ry), 0, 0, 360, source_id, -1)
        else:
            cv2.rectangle(image, (cx - rx, cy - ry), (cx + rx, cy + ry), colour, -1)
            cv2.rectangle(mask, (cx - rx, cy - ry), (cx + rx, cy + ry), source_id, -1)
    return image, mask


def _write_pair(task: tuple[str, int, int]) -> None:
    root, index, size = task
    folder, stem = pair_location(index)
    image_path = Path(root) / folder / "image" / f"{stem}.jpg"
    mask_path = Path(root) / folder / "seg" / f"{stem}.png"
    if image_path.exists() and mask_path.exists():
        return
    cv2.setNumThreads(1)
    image, mask = draw_pair(index, size)
    with atomic_path(image_path) as tmp:
        cv2.imwrite(str(tmp), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    with atomic_path(mask_path) as tmp:
        cv2.imwrite(str(tmp), mask)


def make_pairs(n: int, out: Path, size: int = 512, workers: int | None = None) -> float:
    """Write (or complete) the N pairs under OUT; returns the seconds taken."""
    for folder in ("train", "val"):
        for kind in ("image", "seg"):
            (out / folder / kind).mkdir(parents=True, exist_ok=True)
    tasks = [(str(out), i, size) for i in range(n)]
    start = time.perf_counter()
    with (ProcessPoolExecutor(workers or os.cpu_count(), mp_context=get_context("spawn")) as pool,
          tqdm(total=n, desc="synthetic pairs", unit="pair", disable=not sys.stderr.isatty())
          as bar):
        for _ in pool.map(_write_pair, tasks, chunksize=64):
            bar.update()
    return time.perf_counter() - start


def _run_step(step: str, root: Path, workers: int | None, shard_size: int) -> dict:
    """Run one step in this process; seconds and peak memory (MB) of it and its children.

    The step's modules are imported here, lazily: each step runs in a process of its own, so
    its peak memory counts only what that step loads.
    """
    start = time.perf_counter()
    if step == "validate":
        from facelib.data.validate import validate_dataset

        report = validate_dataset(root, workers=workers, progress=False)
        detail = {"pairs": report.n_pairs, "problems": len(report.problems)}
    elif step == "class_pixel_counts":
        from facelib.data.discover import find_pairs
        from facelib.data.validate import class_pixel_counts, default_scheme

        table = class_pixel_counts(find_pairs(root), default_scheme(), workers=workers,
                                   progress=False)
        detail = {"rows": len(table)}
    else:
        from facelib.data.shards import write_shards

        target = root.with_name(root.name + f"-shards{shard_size}")
        with contextlib.redirect_stdout(io.StringIO()):
            write_shards(root, target, size=shard_size, workers=workers, progress=False)
        detail = {"size": shard_size, "megabytes": round(
            sum(f.stat().st_size for f in target.glob("*.tfrecord")) / 2**20, 1)}
        shutil.rmtree(target)
    seconds = time.perf_counter() - start
    # ru_maxrss is in kilobytes on Linux.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"step": step, "seconds": round(seconds, 1), "peak_mb": round(own),
            "largest_child_mb": round(children), **detail}


def measure(step: str, root: Path, workers: int | None, shard_size: int = 256) -> dict:
    """Run `step` in a fresh Python process and return what it measured."""
    command = [sys.executable, "-m", "benchmarks.scale", "--step", step,
               "--shards", str(shard_size), "0", str(root)]
    if workers:
        command += ["--workers", str(workers)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"step {step} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of pairs")
    parser.add_argument("out", help="folder for the pairs (e.g. under /tmp)")
    parser.add_argument("--size", type=int, default=512, help="photo and mask side (px)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--shards", type=int, default=0,
                        help="also time write_shards at this size (0: skip)")
    parser.add_argument("--clean", action="store_true", help="delete OUT at the end")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.step:
        print(json.dumps(_run_step(args.step, out, args.workers, args.shards)))
        return 0

    results = {"pairs": args.n, "size": args.size, "cpus": os.cpu_count(),
               "make_seconds": round(make_pairs(args.n, out, args.size, args.workers), 1)}
    print(f"{args.n} pairs of {args.size}x{args.size} ready in {out} "
          f"({results['make_seconds']} s)")
    steps = ["validate", "class_pixel_counts"] + (["shards"] if args.shards else [])
    for step in steps:
        result = measure(step, out, args.workers, args.shards)
        results[step] = result
        print(f"{step}: {result['seconds']} s, peak {result['peak_mb']} MB "
              f"(largest child process {result['largest_child_mb']} MB)")
    if args.clean:
        shutil.rmtree(out)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
