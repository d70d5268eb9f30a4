"""Part 3, precision and XLA: float32, mixed_bfloat16 and (on a GPU) mixed_float16, XLA off and
on, on the first reference architecture: images/s, and the mean IoU on held-out pairs after the
same short training (scored by `facelib.models.metrics`), so speed is never bought with quality.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from benchmarks.common import Settings, bench_params, first_line, log, median_seconds
from benchmarks.training import cached_training_data, fit_images_per_second
from facelib.core.params import load_defaults, model_name
from facelib.core.scheme import ClassScheme
from facelib.data.pipeline import make_dataset
from facelib.engine.training import compile_model, configure_tensorflow
from facelib.models import build_model
from facelib.models.metrics import confusion_matrix, confusion_metrics

PRECISION_CONFIGS = (("float32", False), ("float32", True), ("mixed_bfloat16", False),
                     ("mixed_bfloat16", True), ("mixed_float16", False), ("mixed_float16", True))
IOU_TOLERANCE = 0.02  # a faster config is recommended only if its mean IoU is this close
MAX_SLOWDOWN = 3.0  # a config this many times slower than float32 is not trained to the end
PROBE_STEPS = 2  # timed steps that decide whether a precision config is trained to the end


def mean_iou(model, pairs, params: dict) -> float:
    """Mean IoU over the classes of `pairs` at the model's size.

    BatchNorm normalises with each batch's own statistics: after a few dozen steps its moving
    averages are still near their initial values, and with them any model predicts background
    everywhere (a mean IoU of the background's alone over 8 classes).
    """
    scheme = ClassScheme.from_params(params["data"]["classes"])
    return score_batches(lambda images: model(images, training=True),
                         make_dataset(pairs, params, training=False), scheme)


def score_batches(predict, batches, scheme: ClassScheme) -> float:
    """Mean IoU of `predict(images)` (probabilities) over (images, one-hot) `batches`, from one
    confusion matrix (facelib.models.metrics, as evaluation scores a split)."""
    confusion = np.zeros((scheme.n_classes, scheme.n_classes), dtype=np.int64)
    for images, onehot in batches:
        predicted = np.argmax(predict(images), axis=-1)
        confusion += confusion_matrix(np.argmax(onehot, axis=-1), predicted, scheme.n_classes)
    return confusion_metrics(confusion, scheme.names)["mean"]["iou"]


def config_name(precision: str, xla: bool) -> str:
    return precision + (" + xla" if xla else "")


def step_slowdown(precision: str) -> float:
    """How many times longer one convolution's training step takes under `precision` than
    under float32 (median of 5): far above 1 on a CPU without fast bfloat16 arithmetic."""

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
    if precision == "mixed_float16" and not tf.config.list_physical_devices("GPU"):
        return {"note": "not run: no GPU (float16 is fast on NVIDIA GPUs only)"}
    slowdown = step_slowdown(precision)
    if slowdown <= MAX_SLOWDOWN:
        return None
    return {"step_slowdown": slowdown,
            "note": f"not run: a convolution's training step is {slowdown:.1f}x slower than "
                    "in float32 on this CPU"}
