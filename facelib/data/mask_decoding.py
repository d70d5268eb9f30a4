"""A mask file's bytes decoded in TensorFlow, a palette PNG by its indices (for the input
pipeline and the shards writer alike)."""

from __future__ import annotations

import tensorflow as tf

from facelib.data.discover import PNG_PALETTE, PNG_SIGNATURE
from facelib.data.discover import decode_mask as decode_mask_file


def decode_mask(contents) -> tf.Tensor:
    """A mask file's bytes as decoded, (H, W, channels); the first channel holds the ids.

    TensorFlow expands a palette PNG to its colours, so one is read by its indices with
    `facelib.data.discover.decode_mask` (Pillow) instead.
    """
    is_palette = tf.logical_and(
        tf.strings.substr(contents, 0, len(PNG_SIGNATURE)) == PNG_SIGNATURE,
        tf.strings.substr(contents, 25, 1) == bytes([PNG_PALETTE]))
    return tf.cond(is_palette, lambda: palette_indices(contents),
                   lambda: tf.io.decode_image(contents, expand_animations=False))


def palette_indices(contents) -> tf.Tensor:
    """(H, W, 1) uint8 indices of a palette PNG's bytes."""
    def indices(data):
        return decode_mask_file("mask", data)[..., None]

    mask = tf.numpy_function(indices, [contents], tf.uint8, stateful=False)
    return tf.ensure_shape(mask, (None, None, 1))
