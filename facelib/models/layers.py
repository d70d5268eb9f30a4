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


@tf.keras.utils.register_keras_serializable(package="facelib")
class AtrousConv2D(tf.keras.layers.Layer):
    """A 3x3 convolution at dilation `rate` with "same" padding and no bias.

    Same result as `Conv2D(filters, 3, dilation_rate=rate, padding="same", use_bias=False)`,
    but taps that fall wholly outside the feature map (a rate at least its height or width)
    are skipped: it convolves with the kernel's rows and columns that remain (3x3, 1x3, 3x1
    or 1x1), dilated only along an axis with three. TensorFlow runs dilated convolutions on
    CPU through space-to-batch, whose cost grows with the rate. Needs a static height and
    width.
    """

    def __init__(self, filters: int, rate: int, kernel_initializer="he_uniform", **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.rate = rate
        self.kernel_initializer = tf.keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(3, 3, input_shape[-1], self.filters),
                                      initializer=self.kernel_initializer)
        super().build(input_shape)

    def taps(self, height: int, width: int) -> list[tuple[int, int]]:
        """Kernel positions (row, column) whose shifted input overlaps the feature map."""
        return [(row, col) for row in range(3) for col in range(3)
                if abs(row - 1) * self.rate < height and abs(col - 1) * self.rate < width]

    def call(self, inputs):
        height, width = inputs.shape[1:3]
        taps = self.taps(height, width)
        rows = sorted({row for row, _ in taps})
        cols = sorted({col for _, col in taps})
        kernel = self.kernel[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        dilations = [self.rate if len(rows) > 1 else 1, self.rate if len(cols) > 1 else 1]
        return tf.nn.convolution(inputs, kernel, padding="SAME", dilations=dilations)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "rate": self.rate,
                "kernel_initializer": tf.keras.initializers.serialize(self.kernel_initializer)}
