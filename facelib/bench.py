"""`facelib bench`: how fast facelib loads data, trains and predicts, measured in one process.

On a synthetic dataset the bench makes itself (facelib's synthetic faces with photos and masks
upscaled `PHOTO_SCALE` times, so photos are 840-1800 px on the long side, like the reference's
large photos; cached in `cache/bench/` by counts and seed):

1. loader: facelib's tf.data pipeline against `naive_batches`, a per-image Python generator
   written the way the reference fed its models, on the same files. Cold: a pass over the
   files with nothing cached (the OS file cache is warm for both); cached: facelib with
   `data.cache` after its first epoch. The speedups compare facelib without augmentation
   (the naive loader does none); the augmented rates are reported beside them.
2. training: images/s of each reference architecture fed by the pipeline (augmented, cached)
   and by one batch held in memory; `pipeline_vs_memory` near 1 means not input-bound.
3. precision: float32 and mixed_bfloat16, XLA off and on: images/s, and the mean IoU on held-out
   pairs after the same short training, so speed is never bought with quality.
4. inference: images/s in batches, and milliseconds for one 3000x2000 photo end to end.

Timed parts are repeated and their medians reported; a speedup or ratio is the median of the
ratios of paired repeats, so a change of machine load between repeats cancels out.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

BENCH_CACHE = "cache/bench"
PHOTO_SCALE = 2  # the synthetic photos (420-900 px long side) and masks are upscaled this much
LARGE_PHOTO = (2000, 3000)  # (height, width) of the end-to-end prediction photo
NO_AUGMENT = {"hflip": False, "rotate_degrees": 0.0, "scale": 0.0, "brightness": 0.0,
              "contrast": 0.0}
PRECISION_CONFIGS = (("float32", False), ("float32", True), ("mixed_bfloat16", False),
                     ("mixed_bfloat16", True))
IOU_TOLERANCE = 0.02  # a faster config is recommended only if its mean IoU is this close
MAX_SLOWDOWN = 3.0  # a config this many times slower than float32 is not trained to the end
PROBE_STEPS = 2  # timed steps that decide whether a precision config is trained to the end
CPU_FEATURES = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
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
    seed: int = 7
    loader_size: int = 256
    loader_batch: int = 32
    train_batch: int = 8
    precision_size: int = 128
    inference_size: int = 256
    inference_batch: int = 16


FULL = Settings(train_pairs=256, eval_pairs=32, loader_repeats=3, train_size=256,
                train_repeats=3, train_steps=10, precision_steps=40, precision_xla=True,
                inference_repeats=3)
QUICK = Settings(train_pairs=64, eval_pairs=16, loader_repeats=2, train_size=128,
                 train_repeats=1, train_steps=3, precision_steps=6, precision_xla=False,
                 inference_repeats=1)


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


# --- dataset -------------------------------------------------------------------------------

def bench_dataset(settings: Settings, progress: bool) -> Path:
    """The bench's dataset folder (reference layout), made on first use."""
    from facelib.core.params import resolve_path
    from facelib.data.synth import GENERATOR_VERSION, make_synthetic_dataset

    name = (f"train{settings.train_pairs}_val{settings.eval_pairs}_seed{settings.seed}"
            f"_x{PHOTO_SCALE}_v{GENERATOR_VERSION}")
    target = resolve_path(BENCH_CACHE) / name
    if target.is_dir():
        return target
    log(f"making the dataset {target} (once)")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{name}.tmp-", dir=target.parent))
    try:
        source = make_synthetic_dataset(staging / "synthetic", settings.train_pairs,
                                        settings.eval_pairs, settings.seed, progress=progress)
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
    import tensorflow as tf

    sides = [int(tf.reduce_max(tf.image.extract_jpeg_shape(tf.io.read_file(str(p.image)))[:2]))
             for p in pairs]
    return {"long_side_min_px": min(sides), "long_side_max_px": max(sides)}


def bench_params(size: int, batch_size: int, augment: dict | None = None, **train) -> dict:
    """facelib's defaults at `size` and `batch_size` (and other `train` settings)."""
    from facelib.core.params import load_defaults

    params = load_defaults()
    params["data"]["image_size"] = size
    params["train"]["batch_size"] = batch_size
    params["train"].update(train)
    if augment is not None:
        params["data"]["augment"] = augment
    return params


# --- 1. loader -----------------------------------------------------------------------------

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
    import tensorflow as tf

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
    import tensorflow as tf

    from facelib.data.pipeline import (
        decode_mask,
        decode_photo,
        one_hot,
        resize_mask,
        resize_photo,
        training_ids,
    )

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
    from facelib.core.scheme import ClassScheme
    from facelib.data.pipeline import make_dataset

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


# --- 2. training ---------------------------------------------------------------------------

def fit_images_per_second(model, dataset, batch_size: int, steps: int) -> float:
    """Images/s of `steps` training steps, timed from the end of one untimed first step."""
    import tensorflow as tf

    ends: list[float] = []
    clock = tf.keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: ends.append(time.perf_counter()))
    model.fit(dataset, epochs=1, steps_per_epoch=steps + 1, verbose=0, callbacks=[clock])
    return steps * batch_size / (ends[-1] - ends[0])


def cached_training_data(pairs, params: dict):
    """The training pipeline (augmented, cache filled by a first epoch) and one of its batches."""
    from facelib.data.pipeline import make_dataset

    dataset = make_dataset(pairs, params, training=True, cache=True)
    batches = iter(dataset)
    first = next(batches)
    for _ in batches:  # the rest of the first epoch, which fills the cache
        pass
    return dataset.repeat(), first


def compare_feeds(model, pipeline, batch, batch_size: int, steps: int, repeats: int) -> dict:
    """Training images/s fed by `pipeline` and by `batch` held in memory, interleaved."""
    import tensorflow as tf

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
    import tensorflow as tf

    from facelib.core.params import model_name
    from facelib.engine.training import compile_model, configure_tensorflow
    from facelib.models import build_model

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


# --- 3. precision and XLA ------------------------------------------------------------------

def mean_iou(model, pairs, params: dict) -> float:
    """Mean IoU over the classes of `pairs` at the model's size (facelib.models.metrics).

    BatchNorm normalises with each batch's own statistics: after a few dozen steps its moving
    averages are still near their initial values, and with them any model predicts background
    everywhere (a mean IoU of the background's alone over 8 classes).
    """
    from facelib.core.scheme import ClassScheme
    from facelib.data.pipeline import make_dataset
    from facelib.models.metrics import confusion_matrix, confusion_metrics

    scheme = ClassScheme.from_params(params["data"]["classes"])
    confusion = np.zeros((scheme.n_classes, scheme.n_classes), dtype=np.int64)
    for images, onehot in make_dataset(pairs, params, training=False):
        predicted = np.argmax(model(images, training=True), axis=-1)
        confusion += confusion_matrix(np.argmax(onehot, axis=-1), predicted, scheme.n_classes)
    return confusion_metrics(confusion, scheme.names)["mean"]["iou"]


def config_name(precision: str, xla: bool) -> str:
    return precision + (" + xla" if xla else "")


def step_slowdown(precision: str) -> float:
    """How many times longer one convolution's training step takes under `precision` than
    under float32 (median of 5): far above 1 on a CPU without fast bfloat16 arithmetic."""
    import tensorflow as tf

    def step_seconds(dtype) -> float:
        images = tf.cast(tf.random.uniform((8, 32, 32, 64)), dtype)
        kernel = tf.Variable(tf.cast(tf.random.uniform((3, 3, 64, 64)), dtype))

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.cast(tf.nn.conv2d(images, kernel, 1, "SAME"), "float32"))
            return tape.gradient(loss, kernel)

        return median_seconds(step, 5)

    compute = tf.keras.mixed_precision.Policy(precision).compute_dtype
    return step_seconds(compute) / step_seconds("float32")


def train_config(spec, train_pairs, eval_pairs, params: dict, steps: int,
                 baseline_ips: float | None) -> dict:
    """Train `steps` steps from the same seed; images/s after the first steps, mean IoU.

    A config more than MAX_SLOWDOWN times slower than `baseline_ips` stops after its first
    timed steps, with no IoU: it is no candidate for a default.
    """
    import tensorflow as tf

    from facelib.engine.training import compile_model, configure_tensorflow
    from facelib.models import build_model

    tf.keras.backend.clear_session()
    configure_tensorflow(params)
    try:
        pipeline, _ = cached_training_data(train_pairs, params)
        model = build_model(spec, params)
        compile_model(model, params)
        batch_size = params["train"]["batch_size"]
        ips = fit_images_per_second(model, pipeline, batch_size, PROBE_STEPS)
        if baseline_ips and ips * MAX_SLOWDOWN < baseline_ips:
            return {"ips": ips, "mean_iou": None,
                    "note": f"{baseline_ips / ips:.0f}x slower than float32: not trained on"}
        # the rest of the steps; each fit's first step is untimed
        ips = fit_images_per_second(model, pipeline, batch_size, steps - PROBE_STEPS - 2)
        return {"ips": ips, "mean_iou": mean_iou(model, eval_pairs, params)}
    except (tf.errors.OpError, ValueError) as error:
        return {"ips": None, "mean_iou": None, "note": first_line(error)}
    finally:
        tf.keras.mixed_precision.set_global_policy("float32")


def first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:200]


def recommend_precision(configs: dict, baseline: str = "float32") -> str:
    """The fastest config whose mean IoU is within IOU_TOLERANCE of `baseline`'s."""
    reference = configs[baseline]["mean_iou"]
    candidates = [name for name, result in configs.items()
                  if result["ips"] is not None and result["mean_iou"] is not None
                  and result["mean_iou"] >= reference - IOU_TOLERANCE]
    return max(candidates, key=lambda name: configs[name]["ips"])


def measure_precision(train_pairs, eval_pairs, settings: Settings) -> dict:
    """Part 3 on the first reference architecture, with op determinism off for every config
    (XLA has no deterministic max-pool gradient); run it before anything turns it on."""
    from facelib.core.params import load_defaults, model_name

    spec = load_defaults()["models"][0]
    configs: dict[str, dict] = {}
    for precision, xla in PRECISION_CONFIGS:
        name = config_name(precision, xla)
        skipped = skipped_config(precision, xla, settings)
        if skipped:
            configs[name] = {"ips": None, "mean_iou": None, **skipped}
            continue
        log(f"precision: {model_name(spec)} {name}, {settings.precision_steps} steps at "
            f"{settings.precision_size} px")
        params = bench_params(settings.precision_size, settings.train_batch,
                              precision=precision, xla=xla, deterministic=False)
        baseline_ips = configs.get("float32", {}).get("ips")
        configs[name] = train_config(spec, train_pairs, eval_pairs, params,
                                     settings.precision_steps, baseline_ips)
    return {"model": model_name(spec), "size": settings.precision_size,
            "batch_size": settings.train_batch, "steps": settings.precision_steps,
            "eval_pairs": len(eval_pairs), "configs": configs,
            "recommended": recommend_precision(configs)}


def skipped_config(precision: str, xla: bool, settings: Settings) -> dict | None:
    """Why a config is not run (a `note`, and the step probe's figure), or None."""
    if xla and not settings.precision_xla:
        return {"note": "not run in --quick: compiling with XLA takes a while"}
    if precision == "float32":
        return None
    slowdown = step_slowdown(precision)
    if slowdown <= MAX_SLOWDOWN:
        return None
    return {"step_slowdown": slowdown,
            "note": f"not run: a convolution's training step is {slowdown:.1f}x slower than "
                    "in float32 on this CPU"}


# --- 4. inference --------------------------------------------------------------------------

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
    import tensorflow as tf

    from facelib.core.params import model_name
    from facelib.data.discover import load_image
    from facelib.data.pipeline import make_dataset
    from facelib.engine.predict import predict_images
    from facelib.models import build_model

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


# --- the run -------------------------------------------------------------------------------

def machine_info() -> dict:
    import tensorflow as tf

    flags, model = set(), platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "flags":
                flags = set(value.split())
            elif key.strip() == "model name":
                model = value.strip()
    return {
        "cpu": model,
        "cpu_count": os.cpu_count(),
        "cpu_features": {feature: feature in flags for feature in CPU_FEATURES},
        "environment": {name: os.environ[name] for name in PERFORMANCE_VARIABLES
                        if name in os.environ},
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average_start": round(os.getloadavg()[0], 2),
    }


def run_measurements(settings: Settings, progress: bool) -> dict:
    from facelib.data.discover import find_pairs

    started = time.perf_counter()
    results = {"machine": machine_info(), "settings": asdict(settings)}
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
    results["machine"]["load_average_end"] = round(os.getloadavg()[0], 2)
    results["elapsed_s"] = time.perf_counter() - started
    log("done")
    return results


def rounded(value, digits: int = 3):
    """Floats rounded to `digits` significant digits, inside dicts and lists too."""
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item, digits) for item in value]
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    return value


def shown(value, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.3g}{unit}" if isinstance(value, float) else f"{value}{unit}"


def format_table(results: dict) -> str:
    """The results as aligned text tables."""
    machine, loader = results["machine"], results["loader"]
    lines = [
        f"facelib bench, {machine['date']}: {machine['cpu']} ({machine['cpu_count']} CPUs), "
        f"TensorFlow {machine['tensorflow']}, load average {machine['load_average_start']} "
        f"-> {machine['load_average_end']}",
        f"dataset: {results['dataset']['source']}, photos "
        f"{results['dataset']['long_side_min_px']}-{results['dataset']['long_side_max_px']} px "
        f"long side",
        "",
        f"loader ({loader['pairs']} pairs, {loader['size']} px, batch {loader['batch_size']}), "
        "images/s:",
    ]
    for key in ("naive", "facelib_cold", "facelib_cold_augmented", "facelib_cached",
                "facelib_cached_augmented"):
        lines.append(f"  {key:<26}{shown(loader[key + '_ips']):>10}")
    lines += [f"  {'loader_speedup (cold)':<26}{shown(results['loader_speedup'], 'x'):>10}",
              f"  {'loader_speedup_cached':<26}{shown(results['loader_speedup_cached'], 'x'):>10}",
              "", "loader stages, ms per pair on one thread:"]
    for loader_name, stages in loader.get("profile_ms", {}).items():
        shown_stages = ", ".join(f"{stage} {ms:.1f}" for stage, ms in stages.items())
        lines.append(f"  {loader_name:<8}{sum(stages.values()):6.1f}  ({shown_stages})")
    lines += ["", "training images/s:  pipeline  in memory  pipeline/memory"]
    for name, row in results["training"].items():
        lines.append(f"  {name:<26}{shown(row['pipeline_ips']):>10}"
                     f"{shown(row['in_memory_ips']):>11}{shown(row['pipeline_vs_memory']):>17}")
    precision = results["precision"]
    lines += ["", f"precision ({precision['model']}, {precision['size']} px, "
                  f"{precision['steps']} steps):  images/s  mean IoU"]
    for name, row in precision["configs"].items():
        note = f"  ({row['note']})" if row.get("note") else ""
        lines.append(f"  {name:<26}{shown(row['ips']):>10}{shown(row['mean_iou']):>10}{note}")
    lines += [f"  recommended: {precision['recommended']}", "",
              "inference:  images/s (batch)  large photo ms"]
    for name, row in results["inference"].items():
        lines.append(f"  {name:<26}{shown(row['batch_ips']):>10}{shown(row['large_photo_ms']):>16}")
    lines.append(f"\nelapsed: {results['elapsed_s']:.0f} s")
    return "\n".join(lines)


def run_bench(as_json: bool = False, quick: bool = False) -> int:
    """Run every part and print a table (or one JSON object); returns the exit code."""
    settings = QUICK if quick else FULL
    with contextlib.redirect_stdout(sys.stderr):  # library chatter must not reach stdout
        results = run_measurements(settings, progress=sys.stderr.isatty())
    print(json.dumps(rounded(results), indent=2) if as_json else format_table(results))
    return 0

