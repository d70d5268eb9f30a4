"""The bench's dataset: synth's cached dataset (`facelib.data.synth.ensure_synthetic`) with
photos and masks upscaled `PHOTO_SCALE` times, so photos are 840-1800 px on the long side like
the reference's large photos. Both the synthetic source and the upscaled copy are cached."""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import tensorflow as tf

from benchmarks.common import Settings, log
from facelib.core.params import load_params, resolve_path
from facelib.data.synth import ensure_synthetic

BENCH_CACHE = "cache/bench"
PHOTO_SCALE = 2  # the synthetic photos (420-900 px long side) and masks are upscaled this much


def bench_dataset(settings: Settings, progress: bool) -> Path:
    """The bench's dataset folder (reference layout), made on first use."""
    params = load_params(overrides={"data": {"synthetic": {
        "train": settings.train_pairs, "val": settings.eval_pairs, "seed": settings.seed}}})
    source = ensure_synthetic(params, progress=progress)
    target = resolve_path(BENCH_CACHE) / f"{source.name}_x{PHOTO_SCALE}"
    if target.is_dir():
        return target
    log(f"making the dataset {target} (once)")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.tmp-", dir=target.parent))
    try:
        upscale_dataset(source, staging / "upscaled", PHOTO_SCALE)
        os.rename(staging / "upscaled", target)
    except OSError:
        if not target.is_dir():
            raise
        log("another bench made the dataset meanwhile; using it")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def upscale_dataset(source: Path, out: Path, scale: int) -> None:
    """Copy a reference-layout dataset, photos (bicubic, JPEG quality 90) and masks (nearest,
    OpenCV's default PNG, as `facelib synth` writes them) `scale` times larger."""
    files = sorted(source.rglob("*.jpg")) + sorted(source.rglob("*.png"))

    def upscale(path: Path) -> None:
        target = out / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".jpg":
            photo = cv2.resize(cv2.imread(str(path)), None, fx=scale, fy=scale,
                               interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(str(target), photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
        else:
            mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            cv2.imwrite(str(target), cv2.resize(mask, None, fx=scale, fy=scale,
                                                interpolation=cv2.INTER_NEAREST))

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(upscale, files))


def photo_sides(pairs) -> dict:
    """Smallest and largest long side of the (JPEG) photos, in pixels."""
    sides = [int(tf.reduce_max(tf.image.extract_jpeg_shape(tf.io.read_file(str(p.image)))[:2]))
             for p in pairs]
    return {"long_side_min_px": min(sides), "long_side_max_px": max(sides)}
