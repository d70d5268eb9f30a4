"""Saving and loading facelib models in tf-keras' `.keras` format."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
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
    """A model written by save_model, uncompiled (training code compiles it).

    A `.keras` archive is built from its config and given the weights from an extracted
    copy of its `model.weights.h5`: tf-keras' own loader reads them inside the zip, where
    each backward seek re-reads the entry from its start (many times slower)."""
    path = Path(path)
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        return tf.keras.models.load_model(path, custom_objects=custom_objects(), compile=False)
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as folder:
        config = {**json.loads(archive.read("config.json")), "compile_config": None}
        model = tf.keras.saving.deserialize_keras_object(config, custom_objects())
        model.load_weights(archive.extract("model.weights.h5", folder))
    return model
