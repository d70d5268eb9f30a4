"""The input pipeline decodes large JPEG photos at a reduced DCT scale: the same picture as a
full decode, and a full decode for every other photo."""

import math

import cv2
import numpy as np
import pytest
import tensorflow as tf

from facelib.data.pipeline import JPEG_MIN_SCALED_SIDE, decode_photo
from facelib.data.synth import SampleSpec, render

SIZE = 128


def photo(height: int, width: int) -> np.ndarray:
    """A synthetic face photo (BGR) resized to height x width."""
    image = render(SampleSpec("train", 0, subject=1, frame=1), seed=7)[0]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC)


def encoded(image: np.ndarray, ext: str) -> tf.Tensor:
    ok, data = cv2.imencode(ext, image, [cv2.IMWRITE_JPEG_QUALITY, 90] if ext == ".jpg" else [])
    assert ok
    return tf.constant(data.tobytes())


def area(image) -> np.ndarray:
    return np.round(tf.image.resize(image, (SIZE, SIZE), method="area").numpy())


@pytest.mark.parametrize(("height", "width", "ratio"), [
    (900, 700, 2),    # shortest side 700: 1/2 scale keeps 350 >= 1.5 x 128
    (1600, 1200, 4),  # 1/4 keeps 300
    (2000, 3100, 8),  # 1/8 keeps 250
    (500, 380, 1),    # 1/2 would give 190 < 192
])
def test_large_jpegs_decode_scaled_and_match_a_full_decode(height, width, ratio):
    assert math.ceil(JPEG_MIN_SCALED_SIDE * SIZE) == 192  # the thresholds above
    data = encoded(photo(height, width), ".jpg")

    scaled = decode_photo(data, SIZE)
    full = tf.io.decode_jpeg(data, channels=3)

    assert scaled.dtype == tf.uint8
    assert tuple(scaled.shape) == (math.ceil(height / ratio), math.ceil(width / ratio), 3)
    assert np.abs(area(scaled) - area(full)).mean() < 2.0  # grey levels out of 255


def test_png_photos_decode_in_full_whatever_their_name():
    image = photo(800, 600)
    data = encoded(image, ".png")

    decoded = decode_photo(data, SIZE).numpy()

    assert np.array_equal(decoded, cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def test_grey_jpegs_become_three_channels():
    grey = cv2.cvtColor(photo(900, 700), cv2.COLOR_BGR2GRAY)

    decoded = decode_photo(encoded(grey, ".jpg"), SIZE)

    assert tuple(decoded.shape) == (450, 350, 3)
