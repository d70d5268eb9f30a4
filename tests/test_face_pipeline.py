"""data.face_crop in the tf.data pipeline: one sample per face, cut from the mask's faces."""

import cv2
import numpy as np
import pytest
import tensorflow as tf
from fixtures.folders import write_pair

from facelib.core.params import ParamsError, load_defaults, load_params
from facelib.core.scheme import ClassScheme
from facelib.data import crops
from facelib.data.discover import find_pairs, load_image
from facelib.data.pipeline import make_dataset

NO_AUGMENT = {"hflip": False, "rotate_degrees": 0.0, "scale": 0.0, "brightness": 0.0,
              "contrast": 0.0, "saturation": 0.0, "hue": 0.0}
SIZE = 32


def crop_params(**crop):
    params = load_defaults()
    params["data"]["image_size"] = SIZE
    params["data"]["face_crop"] = True
    params["data"]["augment"] = dict(NO_AUGMENT)
    params["data"]["crop"].update({"jitter_shift": 0.0, "jitter_scale": 0.0,
                                   "whole_photo": 0.0, **crop})
    params["train"]["batch_size"] = 2
    return params


def two_face_mask(height=90, width=120):
    mask = np.zeros((height, width), np.uint8)
    mask[10:40, 8:30] = 1     # a face: skin ...
    mask[20:24, 12:16] = 4    # ... with an eye
    mask[50:80, 70:110] = 1   # another face
    mask[60:66, 80:90] = 6
    return mask


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(1)
    for stem in ("a_1", "b_1"):
        image = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
        write_pair(root, "train", stem, image, two_face_mask())
    return find_pairs(root)


def expected_crop(array, box, method):
    cut = crops.crop_padded(array if array.ndim == 3 else array[..., None], box)
    resized = tf.image.resize(cut, (SIZE, SIZE), method=method)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8).numpy()


def test_evaluation_samples_are_the_crops_of_each_face(pairs):
    params = crop_params()
    scheme = ClassScheme.from_params(params["data"]["classes"])
    batches = list(make_dataset(pairs, params, training=False, batch_size=8))
    images, onehot = batches[0]
    assert images.shape == (4, SIZE, SIZE, 3)  # two faces in each of two photos
    labels = onehot.numpy().argmax(axis=-1)
    mask = scheme.remap(two_face_mask())
    photo = load_image(pairs[0].image)
    for index, box in enumerate(crops.face_boxes(mask)):
        square = crops.square_box(box, params["data"]["crop"]["margin"])
        assert np.array_equal(labels[index], expected_crop(mask, square, "nearest")[..., 0])
        assert np.array_equal(images[index].numpy(), expected_crop(photo, square, "area"))


def test_training_without_jitter_cuts_the_same_crop_from_the_context(pairs):
    evaluation = next(iter(make_dataset(pairs, crop_params(), training=False, batch_size=8)))
    training = list(make_dataset(pairs, crop_params(), training=True, cache=True))
    labels = np.concatenate([y.numpy().argmax(-1) for _, y in training])
    assert labels.shape == (4, SIZE, SIZE)
    truth = evaluation[1].numpy().argmax(-1)
    # shuffled: every training crop agrees (up to resampling) with one evaluation crop
    for crop in labels:
        assert max((crop == t).mean() for t in truth) > 0.95


def test_training_shows_the_whole_photo_for_its_share(pairs):
    params = crop_params(whole_photo=1.0)
    scheme = ClassScheme.from_params(params["data"]["classes"])
    training = list(make_dataset(pairs, params, training=True))
    whole = expected_crop(scheme.remap(two_face_mask()), crops.whole_box(90, 120), "nearest")
    for _, onehot in training:
        for labels in onehot.numpy().argmax(-1):
            assert np.array_equal(labels, whole[..., 0])


def test_jitter_moves_and_scales_the_crop_reproducibly(pairs):
    params = crop_params(jitter_shift=0.15, jitter_scale=0.3)
    first = [y.numpy() for _, y in make_dataset(pairs, params, training=True)]
    again = [y.numpy() for _, y in make_dataset(pairs, params, training=True)]
    plain = [y.numpy() for _, y in make_dataset(pairs, crop_params(), training=True)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, plain, strict=True))


def test_a_large_jpeg_decoded_at_a_smaller_scale_is_cropped_in_register(tmp_path):
    height, width = 1200, 1600
    mask = np.zeros((height, width), np.uint8)
    mask[300:700, 500:820] = 1
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 0] = np.arange(width) * 255 // width       # horizontal ramp
    image[..., 1] = (np.arange(height) * 255 // height)[:, None]
    image[mask == 1, 2] = 255
    write_pair(tmp_path, "train", "a_1", image, mask, ext=".jpg")
    pairs = find_pairs(tmp_path)
    images, onehot = next(iter(make_dataset(pairs, crop_params(), training=False)))
    square = crops.square_box(crops.face_boxes(mask)[0], 0.25)
    full = expected_crop(cv2.cvtColor(cv2.imread(str(pairs[0].image)), cv2.COLOR_BGR2RGB),
                         square, "area")
    assert np.abs(images[0].numpy() - full.astype(np.float32)).mean() < 2.0
    face = onehot[0].numpy().argmax(-1) == 1
    assert ((full[..., 2] > 120) == face).mean() > 0.97  # the mask's crop on the photo's


def test_face_crop_does_not_take_shards():
    with pytest.raises(ParamsError, match="data.face_crop"):
        load_params(overrides=["data.face_crop=true", "data.source=shards", "data.root=x"])
