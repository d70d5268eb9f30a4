"""Part 1, the loader: facelib's tf.data pipeline against `naive_batches`, a per-image Python
generator written the way the reference fed its models, on the same files.

Cold: a pass over the files with nothing cached (the OS file cache is warm for both); cached:
facelib with `data.cache` after its first epoch. The speedups compare facelib without
augmentation (the naive loader does none); the augmented rates are reported beside them.
What training needs is the cached rate: at least `CACHED_SPEEDUP_GOAL` times the naive one.
"""

from __future__ import annotations

import statistics
import time

import cv2
import numpy as np
import tensorflow as tf

from benchmarks.common import NO_AUGMENT, bench_params, log, median_ratio
from facelib.core.scheme import ClassScheme
from facelib.data.pipeline import (
    decode_mask,
    decode_photo,
    make_dataset,
    one_hot,
    resize_mask,
    resize_photo,
    training_ids,
)

CACHED_SPEEDUP_GOAL = 10.0  # the cached loader against the naive one (issue 18)


def naive_photo(path, size: int) -> np.ndarray:
    """The reference's photo: OpenCV read, RGB, bilinear resize to S x S."""
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    return cv2.resize(image, (size, size))


def naive_mask(path, size: int) -> np.ndarray:
    """The reference's mask: OpenCV grayscale read, nearest resize to S x S (source ids)."""
    return cv2.resize(cv2.imread(str(path), 0), (size, size), interpolation=cv2.INTER_NEAREST)


def naive_batches(pairs, size: int, batch_size: int, n_classes: int, lut: np.ndarray):
    """(images uint8 (B, S, S, 3), one-hot float32 (B, S, S, C)) batches, the reference's way:
    one pair at a time in Python with OpenCV, one-hot per image, batch built with np.array."""
    for start in range(0, len(pairs), batch_size):
        images, targets = [], []
        for pair in pairs[start:start + batch_size]:
            images.append(naive_photo(pair.image, size))
            mask = lut[naive_mask(pair.mask, size)]
            targets.append(tf.keras.utils.to_categorical(mask, n_classes))
        yield np.array(images), np.array(targets)


def stage_milliseconds(pairs, stages: dict) -> dict:
    """Mean single-thread milliseconds per pair of each stage; a stage maps the previous
    stage's output (the pair first) to its own, so each is timed on real inputs."""
    totals = dict.fromkeys(stages, 0.0)
    for pair in pairs:
        value = pair
        for name, stage in stages.items():
            start = time.perf_counter()
            value = stage(value)
            totals[name] += time.perf_counter() - start
    return {name: 1000 * total / len(pairs) for name, total in totals.items()}


def profile_loaders(pairs, size: int, n_classes: int, lut: np.ndarray) -> dict:
    """Where each loader spends its time per pair, one thread, files in the OS cache.

    Both decode every mask PNG in full (PNG has no reduced decode); the photo decode is where
    facelib saves work (JPEG at 1/2-1/8 scale), and its threads are where it gains the rest.
    """
    def graph(function, *shapes_and_dtypes):  # a TensorFlow stage runs as in tf.data
        return tf.function(function, input_signature=[tf.TensorSpec(shape, dtype)
                                                      for shape, dtype in shapes_and_dtypes])

    path, image = ([], tf.string), ([None, None, None], tf.uint8)
    table = tf.constant(lut)
    photo_decode = graph(lambda p: decode_photo(tf.io.read_file(p), size), path)
    photo_resize = graph(lambda i: resize_photo(i, size, "area"), image)
    mask_decode = graph(lambda p: decode_mask(tf.io.read_file(p)), path)
    mask_resize = graph(lambda m: training_ids(resize_mask(m, size), table), image)
    mask_one_hot = graph(lambda m: one_hot(m, n_classes), image)
    naive = {
        "photo_decode_resize": lambda pair: (pair, naive_photo(pair.image, size)),
        "mask_decode_resize": lambda value: naive_mask(value[0].mask, size),
        "one_hot": lambda mask: tf.keras.utils.to_categorical(lut[mask], n_classes),
    }
    facelib = {
        "photo_decode": lambda pair: (pair, photo_decode(str(pair.image))),
        "photo_resize": lambda value: (value[0], photo_resize(value[1])),
        "mask_decode": lambda value: mask_decode(str(value[0].mask)),
        "mask_resize": mask_resize,
        "one_hot": mask_one_hot,
    }
    stage_milliseconds(pairs[:1], naive)  # warm-up
    stage_milliseconds(pairs[:1], facelib)
    return {"naive": stage_milliseconds(pairs, naive),
            "facelib": stage_milliseconds(pairs, facelib)}


def read_files_once(pairs) -> None:
    """Read every file, so both loaders find them in the OS file cache."""
    for pair in pairs:
        pair.image.read_bytes()
        pair.mask.read_bytes()


def images_per_second(batches) -> float:
    """Images/s of one pass over an iterable of (images, targets) batches."""
    start = time.perf_counter()
    count = sum(int(images.shape[0]) for images, _ in batches)
    return count / (time.perf_counter() - start)


def compare_loaders(pairs, size: int, batch_size: int, repeats: int) -> dict:
    """Images/s of the naive loader and of facelib's pipeline, cold and cached, with medians
    over `repeats` interleaved passes; the speedups compare facelib without augmentation."""
    plain = bench_params(size, batch_size, augment=NO_AUGMENT)
    augmented = bench_params(size, batch_size)
    scheme = ClassScheme.from_params(plain["data"]["classes"])
    lut = scheme.lookup_table()
    read_files_once(pairs)
    loaders = {
        "naive": lambda: naive_batches(pairs, size, batch_size, scheme.n_classes, lut),
        "facelib_cold": make_dataset(pairs, plain, training=False, cache=False),
        "facelib_cold_augmented": make_dataset(pairs, augmented, training=True, cache=False),
        "facelib_cached": make_dataset(pairs, plain, training=False, cache=True),
        "facelib_cached_augmented": make_dataset(pairs, augmented, training=True, cache=True),
    }
    for name, loader in loaders.items():  # trace the functions; fill the caches
        if name.startswith("facelib_cached"):
            images_per_second(loader)
        elif name.startswith("facelib"):
            images_per_second(loader.take(1))
    rates: dict[str, list[float]] = {name: [] for name in loaders}
    for repeat in range(repeats):
        log(f"loader: pass {repeat + 1} of {repeats} over {len(pairs)} pairs")
        for name, loader in loaders.items():
            rates[name].append(images_per_second(loader() if callable(loader) else loader))
    result = {"size": size, "batch_size": batch_size, "pairs": len(pairs)}
    result.update({f"{name}_ips": statistics.median(r) for name, r in rates.items()})
    result["speedup_cold"] = median_ratio(rates["facelib_cold"], rates["naive"])
    result["speedup_cached"] = median_ratio(rates["facelib_cached"], rates["naive"])
    result["profile_ms"] = profile_loaders(pairs, size, scheme.n_classes, lut)
    return result
