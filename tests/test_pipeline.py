"""The tf.data input pipeline: shapes, label mapping, augmentation, determinism."""

import copy

import numpy as np
import pytest
from fixtures.folders import make_dataset_folder, random_image, striped_mask, write_pair

from facelib.core.params import load_defaults
from facelib.core.scheme import ClassScheme
from facelib.data.discover import find_pairs
from facelib.data.pipeline import make_dataset

NO_AUGMENT = {"hflip": False, "rotate_degrees": 0.0, "scale": 0.0, "brightness": 0.0,
              "contrast": 0.0, "saturation": 0.0, "hue": 0.0}


def make_params(size=32, batch_size=4, augment=None, classes=None, seed=1996):
    params = load_defaults()
    params["seed"] = seed
    params["data"]["image_size"] = size
    params["train"]["batch_size"] = batch_size
    if augment is not None:
        params["data"]["augment"] = augment
    if classes is not None:
        params["data"]["classes"] = classes
    return params


def split_eye_classes() -> dict:
    """The default scheme with the eyes kept apart: left_eye and right_eye (9 classes)."""
    classes = copy.deepcopy(load_defaults()["data"]["classes"])
    renamed = {}
    for name, spec in classes.items():
        if name == "eyes":
            renamed["left_eye"] = {"ids": [4], "color": [0, 120, 255]}
            renamed["right_eye"] = {"ids": [5], "color": [0, 60, 200]}
        else:
            renamed[name] = spec
    return renamed


def batches(dataset):
    return [(images.numpy(), onehot.numpy()) for images, onehot in dataset]


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return find_pairs(make_dataset_folder(root, subjects=5, frames=2, size=(40, 56)))


def test_shapes_and_dtypes(pairs):
    params = make_params(size=48, batch_size=4)

    train = batches(make_dataset(pairs, params, training=True))
    evaluation = batches(make_dataset(pairs, params, training=False))

    assert [len(images) for images, _ in train] == [4, 4]  # the last 2 dropped
    assert [len(images) for images, _ in evaluation] == [4, 4, 2]
    for images, onehot in train + evaluation:
        assert images.dtype == np.float32 and images.shape[1:] == (48, 48, 3)
        assert onehot.dtype == np.float32 and onehot.shape[1:] == (48, 48, 8)
        assert images.min() >= 0 and images.max() <= 255 and images.max() > 1
        assert np.array_equal(onehot.sum(axis=-1), np.ones(onehot.shape[:-1]))


def test_ears_and_glasses_get_their_own_channels(tmp_path):
    """The reference one-hot encoded ids up to 16 with depth 8: ears and glasses vanished."""
    mask = striped_mask(32, 32, ids=(0, 13, 14, 16))
    write_pair(tmp_path, "train", "a", random_image(np.random.default_rng(0), 32, 32), mask)
    scheme = ClassScheme.from_params(load_defaults()["data"]["classes"])

    [(_, onehot)] = batches(make_dataset(find_pairs(tmp_path), make_params(), training=False))

    labels = onehot[0].argmax(axis=-1)
    ears, glasses = scheme.names.index("ears"), scheme.names.index("glasses")
    assert np.array_equal(labels[:, 8:24], np.full((32, 16), ears))
    assert np.array_equal(labels[:, 24:], np.full((32, 8), glasses))
    assert onehot[0, ..., ears].sum() == 32 * 16 and onehot[0, ..., glasses].sum() == 32 * 8


@pytest.mark.parametrize("size", [32, 96])
def test_nearest_resize_keeps_only_valid_labels(tmp_path, size):
    rng = np.random.default_rng(1)
    mask = rng.choice(np.array([0, 1, 4, 13, 16], np.uint8), size=(37, 53))
    write_pair(tmp_path, "train", "a", random_image(rng, 37, 53), mask)
    scheme = ClassScheme.from_params(load_defaults()["data"]["classes"])
    present = {int(scheme.lookup_table()[i]) for i in (0, 1, 4, 13, 16)}

    [(_, onehot)] = batches(make_dataset(find_pairs(tmp_path), make_params(size=size),
                                         training=False))

    assert set(np.unique(onehot)) == {0.0, 1.0}
    assert np.array_equal(onehot.sum(axis=-1), np.ones((1, size, size)))
    assert set(np.unique(onehot.argmax(axis=-1))) == present


def eye_on_the_left_dataset(root, count=16):
    """Photos with a white left third labelled left eye (4), the rest black background."""
    image = np.zeros((32, 48, 3), np.uint8)
    image[:, :16] = 255
    mask = np.zeros((32, 48), np.uint8)
    mask[:, :16] = 4
    for i in range(count):
        write_pair(root, "train", f"s{i}_0", image, mask)
    return find_pairs(root)


@pytest.mark.parametrize("classes", ["split eyes", "default"])
def test_flip_swaps_left_and_right_only_when_the_scheme_keeps_them_apart(tmp_path, classes):
    classes = split_eye_classes() if classes == "split eyes" else None
    params = make_params(size=48, batch_size=16, augment=dict(NO_AUGMENT, hflip=True),
                         classes=classes)
    scheme = ClassScheme.from_params(params["data"]["classes"])
    pairs = eye_on_the_left_dataset(tmp_path)

    [(images, onehot)] = batches(make_dataset(pairs, params, training=True))

    labels = onehot.argmax(axis=-1)
    flipped = images[:, 0, -1, 0] == 255
    assert 0 < flipped.sum() < len(flipped)
    eye_left = scheme.names.index("left_eye" if classes else "eyes")
    eye_right = scheme.names.index("right_eye" if classes else "eyes")
    for image, label, was_flipped in zip(images, labels, flipped, strict=True):
        white = image[..., 0] == 255
        expected_eye = eye_right if was_flipped else eye_left
        assert np.array_equal(label == expected_eye, white)
        assert np.all(label[~white] == 0)


def test_rotation_and_zoom_move_image_and_mask_together(tmp_path):
    """Each class is painted in its own grey level; after augmentation they still match."""
    ids = (0, 1, 6, 13, 16)
    mask = striped_mask(64, 64, ids=ids)
    grey_of_id = {0: 20, 1: 80, 6: 140, 13: 200, 16: 250}
    image = np.repeat(np.vectorize(grey_of_id.get)(mask).astype(np.uint8)[..., None], 3, -1)
    for i in range(8):
        write_pair(tmp_path, "train", f"s{i}", image, mask)
    augment = dict(NO_AUGMENT, rotate_degrees=20.0, scale=0.2)
    params = make_params(size=64, batch_size=8, augment=augment)
    table = ClassScheme.from_params(params["data"]["classes"]).lookup_table()

    [(images, onehot)] = batches(make_dataset(find_pairs(tmp_path), params, training=True))

    assert np.array_equal(onehot.sum(axis=-1), np.ones((8, 64, 64)))
    assert not np.array_equal(images[0], images[1])  # each sample its own transform
    labels = onehot.argmax(axis=-1)
    grey_of_label = np.zeros(8)
    grey_of_label[table[list(grey_of_id)]] = list(grey_of_id.values())
    face = labels != 0  # background is also the fill of the mask's border
    matching = np.abs(images[..., 0] - grey_of_label[labels]) <= 3
    assert matching[face].mean() > 0.9  # misses are edge pixels; ~0.79 if the mask stays put


def test_same_seed_same_batches_and_each_epoch_reshuffled(pairs):
    params = make_params(size=32, batch_size=2)

    def two_epochs(seed):
        dataset = make_dataset(pairs, dict(params, seed=seed), training=True)
        return batches(dataset), batches(dataset)

    first, again, other = two_epochs(1996), two_epochs(1996), two_epochs(7)

    for a, b in zip(first[0] + first[1], again[0] + again[1], strict=True):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(np.concatenate([x for x, _ in first[0]]),
                              np.concatenate([x for x, _ in first[1]]))
    assert not np.array_equal(first[0][0][0], other[0][0][0])


def test_cached_and_uncached_evaluation_agree(pairs):
    params = make_params(size=40, batch_size=3)

    cached = batches(make_dataset(pairs, params, training=False, cache=True))
    uncached = batches(make_dataset(pairs, params, training=False, cache=False))

    for (a, b), (c, d) in zip(cached, uncached, strict=True):
        assert np.array_equal(a, c) and np.array_equal(b, d)


def test_colour_jitter_turns_hue_and_saturation_but_keeps_grey_masks_and_other_draws(tmp_path):
    """Grey pixels have no hue to turn; coloured ones change; masks and flips do not."""
    image = np.zeros((32, 48, 3), np.uint8)
    image[:, :16] = (150, 110, 100)  # a skin-like third, in gamut at any hue
    image[:, 16:] = 128             # grey
    mask = np.zeros((32, 48), np.uint8)
    mask[:, :16] = 1
    for i in range(8):
        write_pair(tmp_path, "train", f"s{i}_0", image, mask)
    pairs = find_pairs(tmp_path)
    plain = dict(NO_AUGMENT, hflip=True)
    coloured = dict(plain, saturation=0.5, hue=0.5)

    [(before, before_masks)] = batches(make_dataset(pairs, make_params(48, 8, plain), True))
    [(after, after_masks)] = batches(make_dataset(pairs, make_params(48, 8, coloured), True))

    assert np.array_equal(before_masks, after_masks)  # the same flips: the other draws kept
    grey = before_masks.argmax(-1) == 0
    np.testing.assert_allclose(after[grey], before[grey], atol=0.5)
    red = ~grey
    assert np.abs(after[red] - before[red]).max() > 30
    luma = np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(after[red] @ luma, before[red] @ luma, atol=1.0)  # hue and
    # saturation move the chroma only (no pixel here is clipped)
    assert len({tuple(np.round(sample[red[k]][0])) for k, sample in enumerate(after)}) == 8
