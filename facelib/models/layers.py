"""Custom layers of facelib's models (registered, so saved models load back)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])  # RGB, of 0..1 pixels
IMAGENET_STD = np.array([0.229, 0.224, 0.225])
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68])  # of 0..255 pixels

# mode -> (scale, offset) per channel, applied as x * scale + offset (caffe after RGB -> BGR).
AFFINE = {
    "none": (np.ones(3), np.zeros(3)),
    "tf": (np.full(3, 1 / 127.5), np.full(3, -1.0)),
    "torch": (1 / (255 * IMAGENET_STD), -IMAGENET_MEAN / IMAGENET_STD),
    "caffe": (np.ones(3), -CAFFE_MEAN_BGR),
}


@tf.keras.utils.register_keras_serializable(package="facelib")
class BackbonePreprocessing(tf.keras.layers.Layer):
    """0..255 RGB images -> the input a backbone was trained on, inside the graph.

    `mode` is one of `registry.PREPROCESSING`'s values; the result equals
    `sm.get_preprocessing(backbone)(images)`.
    """

    def __init__(self, mode: str, **kwargs):
        super().__init__(**kwargs)
        if mode not in AFFINE:
            raise ValueError(f"preprocessing mode {mode!r}: expected one of {', '.join(AFFINE)}")
        self.mode = mode

    def call(self, images):
        if self.mode == "none":
            return images
        if self.mode == "caffe":
            images = images[..., ::-1]
        scale, offset = (tf.constant(value, self.compute_dtype) for value in AFFINE[self.mode])
        return images * scale + offset

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
