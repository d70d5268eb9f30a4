"""Export a trained run for use without facelib, checked against its Keras model.

- SavedModel: a photo of any size (H, W, 3), uint8 or float32 0..255 RGB, or a batch
  (N, H, W, 3) of one size, in; the label map (H, W) uint8 of training ids out. The area
  resize to the model's input, the model (with the backbone's preprocessing), the bilinear
  resize of the probabilities back to the photo's size and the argmax are all in the graph,
  as `facelib.predict` does them. It also holds `class_names`, `palette` and `input_size`.
- TFLite: the Keras model itself at its input size: (1, S, S, 3) float32 0..255 RGB in,
  (1, S, S, n_classes) float32 probabilities out; float32, or with float16 or dynamic-range
  (int8) quantized weights.

Both trace facelib's custom layers into the graph, so they load in a process that has
neither facelib nor tf-keras. Each export is checked on the run's test photos (split.csv):
the share of pixels whose label equals the Keras model's, with the time per photo of both.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf
import yaml

from facelib.core.errors import FacelibError
from facelib.core.io import write_json, write_with
from facelib.core.runs import MODEL_FILE
from facelib.core.scheme import ClassScheme
from facelib.data.sources import data_source
from facelib.engine.predict import (
    RESIZE_METHOD,
    load_export,
    model_input_size,
    predict_image,
    probabilities_to_labels,
    resize_for_model,
)
from facelib.models import load_model

FORMATS = ("savedmodel", "tflite")
QUANTIZATIONS = ("float16", "dynamic")
# The least share of agreeing pixels an export must reach; dynamic-range quantization
# changes activations too, so its agreement is reported but not required.
AGREEMENT_FLOOR = {None: 0.995, "float16": 0.995, "dynamic": None}


class ExportError(FacelibError, ValueError):
    """A run that cannot be exported (missing files, a bad format or option)."""


@dataclass
class ExportResult:
    """What an export wrote and how well it agrees with the Keras model."""

    format: str
    quantize: str | None
    path: Path
    report_path: Path
    size_bytes: int
    keras_size_bytes: int
    input_size: int
    agreement: float  # share of test-photo pixels whose label equals the Keras model's
    agreement_floor: float | None
    n_photos: int
    n_pixels: int
    ms_per_photo: float  # median, photo -> label map, one photo at a time
    keras_ms_per_photo: float  # the same for the Keras model, timed interleaved

    @property
    def ok(self) -> bool:
        return self.agreement_floor is None or self.agreement >= self.agreement_floor

    def to_dict(self) -> dict:
        return {**asdict(self), "path": str(self.path), "report_path": str(self.report_path),
                "ok": self.ok}


class LabelMapModule(tf.Module):
    """Photo in, label map out: what `facelib.predict.predict_image` does, as one graph."""

    def __init__(self, model: tf.keras.Model, scheme: ClassScheme):
        super().__init__(name="facelib_label_map")
        self._keras = _Untracked(model)  # traced into the graph; only its weights are saved
        self.weights = model.weights
        self.size = model_input_size(model)
        self.input_size = tf.Variable(self.size, trainable=False, name="input_size")
        self.class_names = tf.Variable(list(scheme.names), trainable=False, name="class_names")
        self.palette = tf.Variable(scheme.palette(), trainable=False, name="palette")

    def labels(self, images):
        """(H, W, 3) -> (H, W) uint8, or (N, H, W, 3) -> (N, H, W) uint8."""
        shape = tf.shape(images)
        batch = tf.reshape(tf.cast(images, tf.float32), [-1, shape[-3], shape[-2], 3])
        resized = tf.image.resize(batch, (self.size, self.size), method=RESIZE_METHOD)
        probabilities = self._keras.model(resized, training=False)
        probabilities = tf.image.resize(probabilities, shape[-3:-1], method="bilinear")
        labels = tf.cast(tf.argmax(probabilities, axis=-1), tf.uint8)
        return tf.reshape(labels, shape[:-1])

    # One input signature each (of any rank): a restored function without one is retraced,
    # slowly, for every new photo size.
    @tf.function(input_signature=[tf.TensorSpec(None, tf.uint8, name="image")])
    def segment(self, images):
        return self.labels(images)

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name="image")])
    def segment_float32(self, images):
        return self.labels(images)

    def signatures(self) -> dict:
        """`serving_default` (uint8) and `float32`: image -> {"labels": label map}."""
        def serve(function):
            return tf.function(lambda image: {"labels": function(image)}).get_concrete_function(
                *function.input_signature)
        return {"serving_default": serve(self.segment), "float32": serve(self.segment_float32)}


class _Untracked:
    """Holds a Keras model out of sight of SavedModel's object tracking."""

    def __init__(self, model):
        self.model = model


def default_out(run: Path, fmt: str, quantize: str | None) -> Path:
    """RUN/export/savedmodel or RUN/export/model_{float32,float16,dynamic}.tflite."""
    if fmt == "savedmodel":
        return run / "export" / "savedmodel"
    return run / "export" / f"model_{quantize or 'float32'}.tflite"


def report_path(out: Path) -> Path:
    """The agreement report beside an export: `savedmodel.json`, `model_float16.json`."""
    return out.with_name(f"{out.stem}.json")


def export_run(run: str | Path, fmt: str, out: str | Path | None = None,
               quantize: str | None = None, model=None) -> ExportResult:
    """Export the run folder's model as `fmt`, check it on the run's test photos and write
    the check's report beside it; an export that disagrees is kept, with `ok` false.

    `model`: the run's Keras model if already loaded (loading takes a while), else read
    from the run folder."""
    run = Path(run)
    if fmt not in FORMATS:
        raise ExportError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ExportError(f"quantize {quantize!r}: expected one of {', '.join(QUANTIZATIONS)}")
    if quantize is not None and fmt != "tflite":
        raise ExportError(f"--quantize {quantize} applies to tflite only, not {fmt}")
    params, samples = run_test_samples(run)
    out = Path(out) if out is not None else default_out(run, fmt, quantize)
    model = model if model is not None else load_model(run / MODEL_FILE)
    scheme = ClassScheme.from_params(params["data"]["classes"])
    if fmt == "savedmodel":
        write_saved_model(model, scheme, out)
        segment, _ = load_export(out)  # as facelib predict loads it
    else:
        write_with(out, lambda tmp: tmp.write_bytes(tflite_bytes(model, quantize)))
        segment = tflite_segmenter(out)
    check = agreement(model, segment, samples())
    result = ExportResult(
        format=fmt, quantize=quantize, path=out, report_path=report_path(out),
        size_bytes=disk_size(out), keras_size_bytes=disk_size(run / MODEL_FILE),
        input_size=model_input_size(model), agreement_floor=AGREEMENT_FLOOR[quantize],
        **check)
    write_json(result.report_path, result.to_dict())
    return result


def run_test_samples(run: Path) -> tuple[dict, Callable]:
    """The run's params and a function yielding (stem, photo, mask) of its test pairs."""
    for name in (MODEL_FILE, "split.csv", "params.yaml"):
        if not (run / name).exists():
            raise ExportError(f"{run / name}: not found; export needs a finished run folder "
                              f"(with {MODEL_FILE}, split.csv and params.yaml)")
    params = yaml.safe_load((run / "params.yaml").read_text())
    split = pd.read_csv(run / "split.csv", dtype=str)
    test = split[split["split"] == "test"]
    if test.empty:
        raise ExportError(f"{run / 'split.csv'}: no test pairs to check the export on")
    source = data_source(params)
    pairs = source.pairs_of_split(test)
    missing = [p.location for p in pairs if not p.location.exists()]
    if missing:
        raise ExportError(f"{missing[0]}: test photo of {run / 'split.csv'} not found")
    return params, lambda: source.read(pairs)


def agreement(model, segment: Callable, samples) -> dict:
    """Label agreement of `segment` (photo -> label map) with the Keras model, and the median
    time per photo of both, timed in turn on each photo after one warm-up call each."""
    same = total = 0
    times, keras_times = [], []
    for index, (_, image, _) in enumerate(samples):
        start = time.perf_counter()
        expected = predict_image(model, image)
        middle = time.perf_counter()
        labels = segment(image)
        end = time.perf_counter()
        if index:
            keras_times.append(middle - start)
            times.append(end - middle)
        if labels.shape != expected.shape:
            raise AssertionError(f"export gave a {labels.shape} label map for a "
                                 f"{expected.shape} photo")
        same += int((labels == expected).sum())
        total += expected.size
    return {"agreement": same / total, "n_photos": index + 1, "n_pixels": total,
            "ms_per_photo": 1000 * statistics.median(times or [end - middle]),
            "keras_ms_per_photo": 1000 * statistics.median(keras_times or [middle - start])}


def write_saved_model(model, scheme: ClassScheme, out: Path) -> None:
    """Save the label-map module to the folder `out`, replacing it only once complete."""
    module = LabelMapModule(model, scheme)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    old = out.with_name(f".{out.name}.{os.getpid()}.old")
    try:
        tf.saved_model.save(module, str(temporary), signatures=module.signatures())
        if out.exists():
            os.replace(out, old)
        os.replace(temporary, out)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def tflite_bytes(model, quantize: str | None) -> bytes:
    """The Keras model as a TFLite flatbuffer at its input size, batch 1."""
    size = model_input_size(model)
    function = tf.function(lambda image: model(image, training=False))
    concrete = function.get_concrete_function(tf.TensorSpec([1, size, size, 3], tf.float32,
                                                            name="image"))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], model)
    if quantize is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def tflite_segmenter(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """Photo -> label map through the TFLite interpreter, resized as facelib.predict does."""
    with warnings.catch_warnings():  # its deprecation notice; ai_edge_litert has the same API
        warnings.filterwarnings("ignore", "\\s*Warning: tf.lite.Interpreter is deprecated")
        interpreter = tf.lite.Interpreter(model_path=str(path), num_threads=os.cpu_count())
    interpreter.allocate_tensors()
    (source,), (target,) = interpreter.get_input_details(), interpreter.get_output_details()
    size = int(source["shape"][1])

    def segment(image: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(source["index"], resize_for_model(image, size)[None])
        interpreter.invoke()
        return probabilities_to_labels(interpreter.get_tensor(target["index"])[0],
                                       *image.shape[:2])
    return segment


def disk_size(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
