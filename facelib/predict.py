"""Segment photos with a trained model: label maps at each photo's own size, and overlays.

A photo is resized to the model's input size, segmented, and the class probabilities are
resized back (bilinear) before the argmax, so edges follow the photo rather than blocks of
the model's resolution.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from facelib.data.discover import DatasetError, load_image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
RESIZE_METHOD = "area"  # photo -> model input; the exported SavedModel does the same


def model_input_size(model) -> int:
    return int(model.input_shape[1])


def resize_for_model(image: np.ndarray, size: int) -> np.ndarray:
    """float32 (size, size, 3) in 0..255, area-averaged like the training pipeline."""
    import tensorflow as tf

    return tf.image.resize(image, (size, size), method=RESIZE_METHOD).numpy()


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
        probabilities = model.predict_on_batch(batch)
        probabilities = np.asarray(probabilities, dtype=np.float32)
        labels += [probabilities_to_labels(p, *im.shape[:2]) for p, im in zip(probabilities,
                                                                                chunk, strict=True)]
    return labels


def predict_image(model, image: np.ndarray) -> np.ndarray:
    return predict_images(model, [image])[0]


def resolve_model_path(path: str | Path) -> Path:
    """A model file, or a run folder holding `model.keras`."""
    from facelib.training import MODEL_FILE

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


def predict_files(model_path: str, inputs: list[str], out_dir: str, palette=None) -> int:
    """Write `STEM.png` (training ids) and `STEM_overlay.png` per photo; 1 if any failed."""
    from tqdm.auto import tqdm

    from facelib.cli import UsageError
    from facelib.io import write_png
    from facelib.viz import overlay

    try:
        segment, model_palette = load_segmenter(model_path)
    except FileNotFoundError as e:
        raise UsageError(str(e)) from None
    if palette is None:
        palette = model_palette
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    failures = 0
    files = expand_inputs(inputs)
    for path in tqdm(files, desc="predict", unit="photo", disable=not sys.stderr.isatty()):
        try:
            image = load_image(path)
        except DatasetError as e:
            print(f"facelib predict: {e}", file=sys.stderr)
            failures += 1
            continue
        labels = segment(image)
        shown = overlay(image, labels, palette)
        write_png(out / f"{path.stem}.png", labels)
        write_png(out / f"{path.stem}_overlay.png", cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
    done = len(files) - failures
    print(f"segmented {done} of {len(files)} photo(s) into {out}")
    return 1 if failures else 0


def load_segmenter(model_path: str | Path):
    """(photo -> label map, palette) of a model file, a run folder or a SavedModel folder
    written by `facelib export`."""
    path = Path(model_path)
    if (path / "saved_model.pb").exists():
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        if not hasattr(loaded, "segment"):
            raise FileNotFoundError(f"{path}: a SavedModel without facelib's segment "
                                    "function (write one with facelib export)")
        return (lambda image: loaded.segment(tf.constant(image)).numpy()), loaded.palette.numpy()
    from facelib.models import load_model

    model = load_model(resolve_model_path(path))
    return (lambda image: predict_image(model, image)), run_palette(resolve_model_path(path))


def run_palette(model_path: Path) -> np.ndarray:
    """The class colours of the run that made the model (its params.yaml), else the defaults."""
    import yaml

    from facelib.params import load_defaults
    from facelib.scheme import ClassScheme

    classes = load_defaults()["data"]["classes"]
    for name in ("params.yaml", "params.pending.yaml"):
        saved = model_path.parent / name
        if saved.exists():
            classes = yaml.safe_load(saved.read_text())["data"]["classes"]
            break
    return ClassScheme.from_params(classes).palette()
