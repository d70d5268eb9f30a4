"""Segment photos with a trained model: label maps at each photo's own size, and overlays.

A photo is resized to the model's input size, segmented, and the class probabilities are
resized back (bilinear) before the argmax, so edges follow the photo rather than blocks of
the model's resolution.
"""

from __future__ import annotations

import sys
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf
import yaml
from tqdm.auto import tqdm

from facelib.core.errors import UsageError
from facelib.core.io import write_png
from facelib.core.params import load_defaults
from facelib.core.runs import MODEL_FILE
from facelib.core.scheme import ClassScheme, overlay
from facelib.data.discover import DatasetError, load_image
from facelib.models import load_model

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


class _Forward:
    """`model(batch, training=False)`, for `predictor`. A callable object rather than a
    closure: TensorFlow's retracing warning counts traces per function code, so the closures
    of Keras' `predict_on_batch` for several models count as one function traced again."""

    def __init__(self, model):
        self._model = weakref.ref(model)

    def __call__(self, batch):
        return self._model()(batch, training=False)


_PREDICTORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predictor(model):
    """The model's forward pass as one `tf.function` for float32 batches of any size: traced
    once per model, where `predict_on_batch` traces again for each new batch size."""
    function = _PREDICTORS.get(model)
    if function is None:
        signature = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        function = _PREDICTORS[model] = tf.function(_Forward(model), input_signature=[signature])
    return function


def model_input_size(model) -> int:
    return int(model.input_shape[1])


def resize_for_model(image: np.ndarray, size: int) -> np.ndarray:
    """float32 (size, size, 3) in 0..255, area-averaged like the training pipeline."""

    return tf.image.resize(image, (size, size), method="area").numpy()


def probabilities_to_labels(probabilities: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize (S, S, C) probabilities to (height, width) and take the argmax -> uint8."""
    resized = cv2.resize(probabilities.astype(np.float32), (width, height),
                         interpolation=cv2.INTER_LINEAR)
    if resized.ndim == 2:  # cv2 drops a single channel
        resized = resized[..., None]
    return resized.argmax(axis=-1).astype(np.uint8)


def predict_images(model, images: list[np.ndarray], batch_size: int = 8) -> list[np.ndarray]:
    """Label maps (training ids) at each image's own size."""
    size = model_input_size(model)
    labels = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        batch = np.stack([resize_for_model(im, size) for im in chunk])
        probabilities = np.asarray(predictor(model)(batch), dtype=np.float32)
        labels += [probabilities_to_labels(p, *im.shape[:2]) for p, im in zip(probabilities,
                                                                                chunk, strict=True)]
    return labels


def predict_image(model, image: np.ndarray) -> np.ndarray:
    return predict_images(model, [image])[0]


def resolve_model_path(path: str | Path) -> Path:
    """A model file, or a run folder holding `model.keras`."""

    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file")
    return path


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files as given; folders expanded to the images they hold (sorted)."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(path)
    return files


@dataclass
class PredictionResult:
    """What `predict_files` wrote (label maps, in `out`) and the photos it could not read."""

    out: Path
    label_maps: list[Path] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        total = len(self.label_maps) + len(self.failures)
        return f"segmented {len(self.label_maps)} of {total} photo(s) into {self.out}"


def predict_files(model_path: str, inputs: list[str], out_dir: str,
                  palette=None) -> PredictionResult:
    """Write `STEM.png` (training ids) and `STEM_overlay.png` per photo; a photo that cannot
    be read is listed in the result's `failures` and the others go on."""
    try:
        path = resolve_model_path(model_path)
    except FileNotFoundError as e:
        raise UsageError(str(e)) from None
    model = load_model(path)
    if palette is None:
        palette = run_palette(path)
    result = PredictionResult(Path(out_dir))
    result.out.mkdir(parents=True, exist_ok=True)
    files = expand_inputs(inputs)
    for photo in tqdm(files, desc="predict", unit="photo", disable=not sys.stderr.isatty()):
        try:
            image = load_image(photo)
        except DatasetError as e:
            result.failures.append(str(e))
            continue
        labels = predict_image(model, image)
        shown = overlay(image, labels, palette)
        write_png(result.out / f"{photo.stem}.png", labels)
        write_png(result.out / f"{photo.stem}_overlay.png",
                  cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
        result.label_maps.append(result.out / f"{photo.stem}.png")
    return result


def run_palette(model_path: Path) -> np.ndarray:
    """The class colours of the run that made the model (its params.yaml), else the defaults."""

    classes = load_defaults()["data"]["classes"]
    for name in ("params.yaml", "params.pending.yaml"):
        saved = model_path.parent / name
        if saved.exists():
            classes = yaml.safe_load(saved.read_text())["data"]["classes"]
            break
    return ClassScheme.from_params(classes).palette()
