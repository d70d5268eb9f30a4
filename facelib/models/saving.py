"""Saving and loading facelib models in tf-keras' `.keras` format."""

from __future__ import annotations

import os
from pathlib import Path

import efficientnet.tfkeras  # noqa: F401 (registers efficientnet's swish and FixedDropout)
import tensorflow as tf

from facelib.models.layers import AtrousConv2D, BackbonePreprocessing


def custom_objects() -> dict:
    """The layers and activations of saved models that tf-keras does not know."""
    objects = tf.keras.utils.get_custom_objects()
    return {"AtrousConv2D": AtrousConv2D, "BackbonePreprocessing": BackbonePreprocessing,
            **{name: objects[name] for name in ("swish", "FixedDropout")}}


def save_model(model: tf.keras.Model, path: str | Path) -> None:
    """Write `model` to `path` (a `.keras` file) atomically: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        model.save(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load_model(path: str | Path) -> tf.keras.Model:
    """A model written by save_model, uncompiled (training code compiles it)."""
    return tf.keras.models.load_model(Path(path), custom_objects=custom_objects(), compile=False)
