"""Segment photos with a trained model: label maps at each photo's own size, and overlays.

A model trained on face crops finds the faces of a photo, parses each in its crop and
pastes the probabilities back (`facelib.engine.localise`); one trained on whole photos sees
the photo resized to its input. With `eval.scales` the model runs at several input sizes and
their probabilities are averaged (`facelib.models.zoo.multi_scale`). Either way the class
probabilities are resized back (bilinear) before the argmax, so edges follow the photo rather
than blocks of the model's resolution. Photos are read as shown (EXIF orientation applied);
no mask is read.
"""

from __future__ import annotations

import sys
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf
import yaml
from tqdm.auto import tqdm

from facelib.core.errors import UsageError
from facelib.core.io import write_png
from facelib.core.params import load_defaults, merge
from facelib.core.runs import MODEL_FILE
from facelib.core.scheme import ClassScheme, overlay
from facelib.data.crops import CropSettings
from facelib.data.discover import DatasetError, load_image
from facelib.engine.localise import (
    Face,
    model_input_size,
    probabilities_to_labels,
    segment_photos,
)
from facelib.models import load_model
from facelib.models.zoo import multi_scale

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
RESIZE_METHOD = "area"  # photo -> model input; the exported SavedModel does the same


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


def resize_for_model(image: np.ndarray, size: int) -> np.ndarray:
    """float32 (size, size, 3) in 0..255, area-averaged like the training pipeline."""

    return tf.image.resize(image, (size, size), method=RESIZE_METHOD).numpy()


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
class PhotoResult:
    """One photo segmented: its size (height, width), its faces and its label map file."""

    path: Path
    size: tuple[int, int]
    faces: list[Face]
    label_map: Path

    def to_dict(self) -> dict:
        return {"path": str(self.path), "size": list(self.size),
                "faces": [face.to_dict() for face in self.faces]}


@dataclass
class PredictionResult:
    """What `predict_files` wrote (label maps, in `out`), the photos it could not read, and
    the photos in which it found no face (`warnings`)."""

    out: Path
    photos: list[PhotoResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def label_maps(self) -> list[Path]:
        return [photo.label_map for photo in self.photos]

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        total = len(self.photos) + len(self.failures)
        faces = sum(len(photo.faces) for photo in self.photos)
        return (f"segmented {len(self.photos)} of {total} photo(s) into {self.out}, "
                f"{faces} face(s) found")


def predict_files(model_path: str, inputs: list[str], out_dir: str,
                  palette=None) -> PredictionResult:
    """Write `STEM.png` (training ids) and `STEM_overlay.png` (with each face's box) per
    photo; a photo that cannot be read is listed in the result's `failures` and the others go
    on; a photo without a face gets an all-background map and a line in `warnings`."""
    if is_saved_model(model_path):
        return predict_files_with_export(model_path, inputs, out_dir, palette)
    try:
        path = resolve_model_path(model_path)
    except FileNotFoundError as e:
        raise UsageError(str(e)) from None
    params = run_params(path)
    model = multi_scale(load_model(path), params, params["eval"]["scales"])
    if palette is None:
        palette = ClassScheme.from_params(params["data"]["classes"]).palette()
    settings = replace(CropSettings.from_params(params), size=model_input_size(model))
    result = PredictionResult(Path(out_dir))
    result.out.mkdir(parents=True, exist_ok=True)
    files = expand_inputs(inputs)
    for photo in tqdm(files, desc="predict", unit="photo", disable=not sys.stderr.isatty()):
        try:
            image = load_image(photo)
        except DatasetError as e:
            result.failures.append(str(e))
            continue
        parsed = segment_photos(model, [image], settings)[0]
        shown = draw_boxes(overlay(image, parsed.labels, palette), parsed.faces)
        write_png(result.out / f"{photo.stem}.png", parsed.labels)
        write_png(result.out / f"{photo.stem}_overlay.png",
                  cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
        result.photos.append(PhotoResult(photo, image.shape[:2], parsed.faces,
                                         result.out / f"{photo.stem}.png"))
        if not parsed.faces:
            result.warnings.append(f"{photo}: no face found; its label map is all background")
    return result


def is_saved_model(path: str | Path) -> bool:
    return (Path(path) / "saved_model.pb").exists()


def load_export(path: str | Path):
    """(photo -> label map, palette) of a SavedModel written by `facelib export`."""
    loaded = tf.saved_model.load(str(path))
    if not hasattr(loaded, "segment"):
        raise UsageError(f"{path}: a SavedModel without facelib's segment function (write "
                         "one with facelib export)")
    return (lambda image: loaded.segment(tf.constant(image)).numpy()), loaded.palette.numpy()


def predict_files_with_export(model_path, inputs: list[str], out_dir: str,
                              palette=None) -> PredictionResult:
    """`predict_files` through an exported SavedModel: the whole photo in one pass, as the
    export does (no face localiser in the graph), so no faces are listed."""
    segment, export_palette = load_export(model_path)
    palette = export_palette if palette is None else palette
    result = PredictionResult(Path(out_dir))
    result.out.mkdir(parents=True, exist_ok=True)
    for photo in expand_inputs(inputs):
        try:
            image = load_image(photo)
        except DatasetError as e:
            result.failures.append(str(e))
            continue
        labels = segment(image)
        write_png(result.out / f"{photo.stem}.png", labels)
        write_png(result.out / f"{photo.stem}_overlay.png",
                  cv2.cvtColor(overlay(image, labels, palette), cv2.COLOR_RGB2BGR))
        result.photos.append(PhotoResult(photo, image.shape[:2], [],
                                         result.out / f"{photo.stem}.png"))
    return result


BOX_COLOR = (255, 255, 255)


def draw_boxes(image: np.ndarray, faces: list[Face]) -> np.ndarray:
    """The RGB picture with each face's box drawn, its score above it."""
    out = image.copy()
    thickness = max(1, round(max(image.shape[:2]) / 400))
    for face in faces:
        x0, y0, x1, y1 = face.box
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), BOX_COLOR, thickness)
        cv2.putText(out, f"{face.score:.2f}", (x0, max(y0 - 3 * thickness, 10 * thickness)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, BOX_COLOR, thickness)
    return out


def run_params(model_path: Path) -> dict:
    """The params of the run that made the model (its params.yaml) over the defaults (a run
    older than a key has its default), else the defaults."""

    params = load_defaults()
    for name in ("params.yaml", "params.pending.yaml"):
        saved = model_path.parent / name
        if saved.exists():
            return merge(params, yaml.safe_load(saved.read_text()))
    return params


def run_palette(model_path: Path) -> np.ndarray:
    """The class colours of the run that made the model (its params.yaml), else the defaults."""

    return ClassScheme.from_params(run_params(model_path)["data"]["classes"]).palette()
