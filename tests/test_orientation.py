"""EXIF orientation: photos are read as shown everywhere (numpy, tf.data, validation)."""

import io

import cv2
import numpy as np
import pytest
import tensorflow as tf
from fixtures.folders import striped_mask, write_file
from PIL import Image

from facelib.core.params import load_defaults
from facelib.core.scheme import ClassScheme
from facelib.data.discover import exif_orientation, load_image, orient, shown_size
from facelib.data.pipeline import load_pair_function, orient_tf, orientation_tf
from facelib.data.validate import validate_dataset


def encoded(image: np.ndarray, orientation: int, fmt: str = "PNG", **kw) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, fmt, exif=exif.tobytes(), **kw)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def photo():
    return np.random.default_rng(0).integers(0, 256, (6, 9, 3), dtype=np.uint8)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_matches_opencv_in_numpy_and_tensorflow(photo, orientation, tmp_path):
    data = encoded(photo, orientation)  # PNG: lossless, so the pixels compare exactly
    path = tmp_path / "photo.png"
    path.write_bytes(data)
    shown = load_image(path)  # OpenCV applies the orientation itself
    assert exif_orientation(data) == orientation
    assert np.array_equal(orient(photo, orientation), shown)
    turned = orient_tf(tf.constant(photo), orientation_tf(tf.constant(data)))
    assert np.array_equal(turned.numpy(), shown)
    assert shown_size(photo.shape, orientation) == shown.shape[:2]


def test_photos_without_exif_or_unreadable_are_as_stored():
    plain = cv2.imencode(".jpg", np.zeros((4, 4, 3), np.uint8))[1].tobytes()
    assert exif_orientation(plain) == 1
    assert exif_orientation(b"not an image") == 1


def test_the_folder_pipeline_turns_an_exif_jpeg_to_match_its_mask(tmp_path):
    stored = np.zeros((40, 60, 3), np.uint8)
    stored[:, :30] = 255  # left half white as stored; orientation 6 puts it on top
    image = tmp_path / "photo.jpg"
    image.write_bytes(encoded(stored, 6, "JPEG", quality=95))
    mask = write_file(tmp_path / "mask.png", striped_mask(60, 40))  # 40 wide, 60 high: shown
    scheme = ClassScheme.from_params(load_defaults()["data"]["classes"])
    load = load_pair_function(32, "area", scheme)
    paths = tf.data.Dataset.from_tensors((str(image), str(mask)))
    picture, labels = next(iter(paths.map(load)))  # in a graph, as training runs it
    picture = picture.numpy().astype(int)
    assert labels.shape == (32, 32, 1)
    assert picture[:12].mean() > 200 and picture[-12:].mean() < 50


def test_validation_compares_the_mask_with_the_photo_as_shown(tmp_path):
    stored = np.full((40, 60, 3), 128, np.uint8)
    root = tmp_path / "data"
    for split in ("train", "val"):
        (root / split / "image").mkdir(parents=True)
        (root / split / "image" / "a_1.jpg").write_bytes(encoded(stored, 6, "JPEG"))
    write_file(root / "train" / "seg" / "a_1.png", striped_mask(60, 40))  # as shown: fine
    write_file(root / "val" / "seg" / "a_1.png", striped_mask(40, 60))    # as stored: wrong
    report = validate_dataset(root, workers=1, progress=False)
    assert [p.path for p in report.problems] == [str(root / "val" / "seg" / "a_1.png")]
    assert report.problems[0].problem == (
        "mask is 60x40 but its image a_1.jpg is 40x60 once its EXIF orientation is applied")
