"""Part 4, inference (float32): images/s in batches for each reference architecture, and
milliseconds for one 3000x2000 photo end to end (read, resize, predict, resize back)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import tensorflow as tf

from benchmarks.common import Settings, bench_params, log, median_seconds
from facelib.core.params import model_name
from facelib.data.discover import load_image
from facelib.data.pipeline import make_dataset
from facelib.engine.predict import predict_images
from facelib.models import build_model

LARGE_PHOTO = (2000, 3000)  # (height, width) of the end-to-end prediction photo


def write_large_photo(pair, folder: Path) -> Path:
    """A LARGE_PHOTO-sized JPEG made from the photo of `pair`."""
    height, width = LARGE_PHOTO
    photo = cv2.resize(cv2.imread(str(pair.image)), (width, height),
                       interpolation=cv2.INTER_CUBIC)
    path = folder / f"large_{width}x{height}.jpg"
    cv2.imwrite(str(path), photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def measure_inference(eval_pairs, settings: Settings) -> dict:
    """Part 4 for each reference architecture (float32)."""
    params = bench_params(settings.inference_size, settings.inference_batch)
    images, _ = next(iter(make_dataset(eval_pairs, params, training=False)))
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        photo = write_large_photo(eval_pairs[0], Path(folder))
        for spec in params["models"]:
            name = model_name(spec)
            log(f"inference: {name}")
            tf.keras.backend.clear_session()
            model = build_model(spec, params)
            batch_seconds = median_seconds(lambda m=model: m.predict_on_batch(images),
                                           settings.inference_repeats)
            photo_seconds = median_seconds(
                lambda m=model: predict_images(m, [load_image(photo)]),
                settings.inference_repeats)
            results[name] = {"size": settings.inference_size,
                             "batch_size": int(images.shape[0]),
                             "batch_ips": int(images.shape[0]) / batch_seconds,
                             "large_photo_ms": 1000 * photo_seconds,
                             "large_photo": f"{LARGE_PHOTO[1]}x{LARGE_PHOTO[0]} JPEG"}
    return results
