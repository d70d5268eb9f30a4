"""The tf.data input pipeline: image/mask pairs -> batches of (image, one-hot target).

file paths -> parallel decode, resize (masks: nearest) and remap of source ids to training
ids -> cache (small uint8 tensors) -> shuffle -> batch -> augment (training) -> one-hot ->
prefetch. A JPEG photo of 3 or more times the training size is decoded at 1/2, 1/4 or 1/8
scale by libjpeg (in the DCT domain, several times cheaper than a full decode) before the
resize.
Augmentation runs on whole batches, with per-sample random parameters from stateless ops
whose seeds come from `params["seed"]`, the batch's position and the epoch: the same params
give the same batches, whatever the number of threads.
Pairs from TFRecord shards (`data.source: shards`) are already resized: they are decoded,
remapped to training ids and go through the same steps from the cache on.
Photos are turned as their EXIF orientation says (TensorFlow's decoders ignore it), so that
they match their masks, which are in the orientation shown.

With `data.face_crop: true` a sample is a face rather than a photo (`face_samples`): the
faces of each mask and the crop geometry are planned in Python (`plan_faces`), the graph
cuts and resizes. Training caches a context around each crop (`facelib.data.crops`) and
the whole-photo view, and every epoch cuts a jittered crop from the context or, for a share
of the samples, shows the whole photo (`face_augment_function`).
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from facelib.core.scheme import ClassScheme
from facelib.data import crops
from facelib.data.discover import (
    DatasetError,
    Pair,
    ShardPair,
    exif_orientation,
    load_label_map,
    read_file,
)
from facelib.data.mask_decoding import decode_mask
from facelib.data.shards import read_pairs

AUTOTUNE = tf.data.AUTOTUNE
JPEG_SIGNATURE = b"\xff\xd8\xff"
JPEG_SCALE_RATIOS = (1, 2, 4, 8)  # the downscales libjpeg can apply while decoding
# A JPEG decoded at a smaller scale keeps its sides >= this times the training size, so the
# resize after it still averages pixels: after the resize, 0.4-1.4 grey levels of mean
# difference from a full decode (area vs antialiased bilinear resizing differ by ~0.4);
# keeping only 1.0 times the size gives up to 2.
JPEG_MIN_SCALED_SIDE = 1.5


def make_dataset(
    pairs: list,
    params: dict,
    training: bool,
    cache: bool | None = None,
    batch_size: int | None = None,
    source=None,
    repeat: bool = False,
) -> tf.data.Dataset:
    """Batches of (image, onehot): float32 (B, S, S, 3) RGB in 0..255 and float32 (B, S, S, C).

    S is `data.image_size`, C the number of classes of `data.classes`; `cache` defaults to
    `data.cache` and `batch_size` to `train.batch_size`. Training shuffles every epoch,
    augments and drops the last incomplete batch. `source` (a `facelib.data.sources` source)
    reads the pairs: files (`folder_samples`, also when `source` is None) or shards
    (`shard_samples`); both go through the same `batches`. With `train.strategy:
    multiworker` each worker trains on its share,
    whole shard files or every n-th pair: `shard(SHARD_HINT, ...)` on the file or path list
    and auto-shard policy HINT (the dataset then works only when distributed). FILE fails
    on training batches, whose augmentation keys (`Dataset.random`) come from no file, and
    DATA would read every file on every worker. Other batches (validation) are not
    sharded: every worker evaluates the whole split in the same number of batches, as a
    worker that ran out first would get empty batches. Otherwise the policy is OFF.
    `repeat`: endless, the samples repeated before batching (no remainder is dropped
    between passes); multi-worker training takes this with a fixed number of steps.
    """
    data = params["data"]
    scheme = ClassScheme.from_params(data["classes"])
    batch_size = batch_size or params["train"]["batch_size"]
    cache = data["cache"] if cache is None else cache
    if not pairs:
        raise DatasetError("make_dataset: no image/mask pairs")
    if training and len(pairs) < batch_size:
        raise DatasetError(f"{len(pairs)} training pairs make no full batch of {batch_size}")

    shuffle_seed = params["seed"] if training and not cache else None
    hint = training and params["train"]["strategy"] == "multiworker"
    if data["face_crop"]:
        samples, count, augment = face_samples(pairs, params, scheme, training, shuffle_seed,
                                               hint)
        dataset = batches(samples, count, params, scheme, training, cache, batch_size, repeat,
                          augment)
        policy = tf.data.experimental.AutoShardPolicy
        return with_auto_shard_policy(dataset, policy.HINT if hint else policy.OFF)
    if source is None:
        samples = folder_samples(pairs, data, scheme, shuffle_seed, hint)
    else:
        samples = source.samples(pairs, params, scheme, shuffle_seed, hint)
    dataset = batches(samples, len(pairs), params, scheme, training, cache, batch_size, repeat)
    policy = tf.data.experimental.AutoShardPolicy
    return with_auto_shard_policy(dataset, policy.HINT if hint else policy.OFF)


def folder_samples(pairs: list[Pair], data: dict, scheme: ClassScheme,
                   shuffle_seed: int | None = None, shard_hint: bool = False) -> tf.data.Dataset:
    """uint8 image (S, S, 3) and uint8 training-id mask (S, S, 1) of each pair's files.

    With `shuffle_seed`, in a new order every epoch: the paths are shuffled, so the shuffle
    buffer holds no images. `shard_hint`: the paths are sharded by `SHARD_HINT`.
    """
    dataset = path_dataset(pairs)
    if shard_hint:
        dataset = dataset.shard(tf.data.experimental.SHARD_HINT, tf.data.experimental.SHARD_HINT)
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(pairs), seed=shuffle_seed, reshuffle_each_iteration=True)
    load = load_pair_function(data["image_size"], data["image_resize"], scheme)
    return dataset.map(load, num_parallel_calls=AUTOTUNE, deterministic=True)


SHARD_SHUFFLE_BUFFER = 512  # decoded samples shuffled from shards when not cached


def shard_samples(pairs: list[ShardPair], scheme: ClassScheme,
                  shuffle_seed: int | None = None, shard_hint: bool = False) -> tf.data.Dataset:
    """The same from shard pairs (`facelib.data.shards.shard_pairs`), already resized.

    With `shuffle_seed`, shuffled every epoch in a buffer of `SHARD_SHUFFLE_BUFFER` decoded
    samples (the shards were shuffled when written). `shard_hint`: the shard files are
    sharded by `SHARD_HINT` (`read_pairs`).
    """

    table = tf.constant(scheme.lookup_table())

    def remap(example):
        return example["image"], training_ids(example["mask"][..., None], table)

    dataset = read_pairs(pairs, shard_hint)
    dataset = dataset.map(remap, num_parallel_calls=AUTOTUNE, deterministic=True)
    if shuffle_seed is not None:
        dataset = dataset.shuffle(min(len(pairs), SHARD_SHUFFLE_BUFFER), seed=shuffle_seed,
                                  reshuffle_each_iteration=True)
    return dataset


def batches(samples: tf.data.Dataset, count: int, params: dict, scheme: ClassScheme,
            training: bool, cache: bool, batch_size: int, repeat: bool = False,
            augment=None) -> tf.data.Dataset:
    """(uint8 image, uint8 training-id mask) samples, `count` of them -> cache (then, when
    training, shuffle) -> repeat (if `repeat`) -> batch -> augment (training) -> one-hot ->
    prefetch. `augment` (default: `augment_function`) takes a batch and its key, returns
    images and masks."""
    if cache:
        samples = samples.cache()
        if training:
            samples = samples.shuffle(count, seed=params["seed"], reshuffle_each_iteration=True)
    if repeat:
        samples = samples.repeat()
    dataset = samples.batch(batch_size, drop_remainder=training)
    if training:
        dataset = with_random_keys(dataset, params["seed"])
        augment = augment or augment_function(params["data"]["augment"], scheme)
        dataset = dataset.map(augment, num_parallel_calls=AUTOTUNE, deterministic=True)
    dataset = dataset.map(one_hot_function(scheme.n_classes), num_parallel_calls=AUTOTUNE,
                          deterministic=True)
    return dataset.prefetch(AUTOTUNE)


def with_auto_shard_policy(dataset: tf.data.Dataset, policy) -> tf.data.Dataset:
    """`dataset` with its `tf.data.experimental.AutoShardPolicy` for multi-worker training."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policy
    return dataset.with_options(options)


def path_dataset(pairs: list[Pair]) -> tf.data.Dataset:
    """(image path, mask path) strings."""
    images = [str(p.image) for p in pairs]
    masks = [str(p.mask) for p in pairs]
    return tf.data.Dataset.from_tensor_slices((images, masks))


def load_pair_function(size: int, image_resize: str, scheme: ClassScheme):
    """(image path, mask path) -> uint8 image (S, S, 3) and uint8 training-id mask (S, S, 1)."""
    table = tf.constant(scheme.lookup_table())

    def load_pair(image_path, mask_path):
        contents = tf.io.read_file(image_path)
        image = orient_tf(decode_photo(contents, size), orientation_tf(contents))
        image = resize_photo(image, size, image_resize)
        mask = decode_mask(tf.io.read_file(mask_path))
        return image, training_ids(resize_mask(mask, size), table)

    return load_pair


def resize_photo(image, size: int, method: str) -> tf.Tensor:
    """uint8 (S, S, 3) from a decoded photo, resized with `method` (`data.image_resize`)."""
    image = tf.image.resize(image, (size, size), method=method)
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def resize_mask(mask, size: int) -> tf.Tensor:
    """(S, S, 1) of the mask's first channel, nearest: ids are never blended."""
    return tf.image.resize(mask[..., :1], (size, size), method="nearest")


def training_ids(mask, table) -> tf.Tensor:
    """Source ids -> uint8 training ids through `table` (`ClassScheme.lookup_table`)."""
    return tf.gather(table, tf.cast(mask, tf.int32))


def decode_photo(contents, size: int) -> tf.Tensor:
    """uint8 RGB (H, W, 3) from encoded bytes, to be resized to `size` x `size`.

    A JPEG decodes at the smallest of 1/1, 1/2, 1/4 and 1/8 scale whose sides stay at least
    `JPEG_MIN_SCALED_SIDE * size`; other formats decode in full.
    """
    is_jpeg = tf.strings.substr(contents, 0, len(JPEG_SIGNATURE)) == JPEG_SIGNATURE
    return tf.cond(is_jpeg, lambda: decode_jpeg_scaled(contents, size),
                   lambda: tf.io.decode_image(contents, channels=3, expand_animations=False))


def decode_jpeg_scaled(contents, size: int) -> tf.Tensor:
    shortest_side = tf.reduce_min(tf.image.extract_jpeg_shape(contents)[:2])
    min_side = math.ceil(JPEG_MIN_SCALED_SIDE * size)
    scale_index = tf.add_n([tf.cast(shortest_side // ratio >= min_side, tf.int32)
                            for ratio in JPEG_SCALE_RATIOS[1:]])
    return tf.switch_case(scale_index, [
        functools.partial(tf.io.decode_jpeg, contents, channels=3, ratio=ratio)
        for ratio in JPEG_SCALE_RATIOS
    ])


def orientation_tf(contents) -> tf.Tensor:
    """The EXIF orientation (int32 1-8) of encoded photo bytes (`discover.exif_orientation`)."""
    def read(data):  # bytes in a graph, a 0-d object array when eager
        return np.int32(exif_orientation(data.item() if isinstance(data, np.ndarray) else data))

    orientation = tf.numpy_function(read, [contents], tf.int32, stateful=False)
    return tf.ensure_shape(orientation, [])


def orient_tf(image, orientation) -> tf.Tensor:
    """A decoded photo as stored -> as shown (`discover.orient` in TensorFlow)."""

    def transposed(x):
        return tf.transpose(x, [1, 0, 2])

    branches = [
        lambda: image,                                   # 1 (and 0: none)
        lambda: image,                                   # 1
        lambda: tf.reverse(image, axis=[1]),             # 2: mirrored
        lambda: tf.image.rot90(image, 2),                # 3: upside down
        lambda: tf.reverse(image, axis=[0]),             # 4: mirrored upside down
        lambda: transposed(image),                       # 5
        lambda: tf.image.rot90(image, 3),                # 6: turned 90 degrees clockwise
        lambda: tf.image.rot90(transposed(image), 2),    # 7
        lambda: tf.image.rot90(image, 1),                # 8: turned 90 degrees anticlockwise
    ]
    return tf.switch_case(tf.clip_by_value(orientation, 0, 8), branches)


def with_random_keys(dataset: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """Add a stateless-op seed (an int64 pair) to every batch, new in every epoch."""
    keys = tf.data.Dataset.random(seed, rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip(dataset, keys).map(lambda batch, key: (*batch, key))


def augment_function(augment: dict, scheme: ClassScheme):
    """(images, masks, key) -> (images, masks), augmented as `data.augment` says.

    Each sample gets its own flip, rotation, zoom, brightness, contrast, saturation and hue.
    A flipped mask has its left and right labels swapped when the scheme keeps them apart.
    Rotation and zoom are one affine transform, applied to the image (bilinear, reflected
    border) and the mask (nearest, background border); the flip joins that transform when
    there is one (one pass over the pixels instead of two). Brightness, contrast, saturation
    and hue (`recolour_randomly`) change the image only.
    """
    flip_table = flip_lookup_table(scheme)
    max_angle = augment["rotate_degrees"] * math.pi / 180

    def augment_batch(images, masks, key):
        batch = tf.shape(images)[0]
        draws = tf.random.stateless_uniform([batch, 5], seed=key, minval=-1.0, maxval=1.0)
        flipped = draws[:, 0] < 0
        if max_angle or augment["scale"]:
            transforms = affine_transforms(draws[:, 1] * max_angle,
                                           1 + draws[:, 2] * augment["scale"],
                                           tf.shape(images)[1:3])
            if augment["hflip"]:
                transforms = mirrored(transforms, flipped, tf.shape(images)[2])
            images = transform(images, transforms, "BILINEAR", "REFLECT")
            masks = transform(masks, transforms, "NEAREST", "CONSTANT")
            if augment["hflip"] and flip_table is not None:
                masks = tf.where(flipped[:, None, None, None],
                                 tf.gather(flip_table, tf.cast(masks, tf.int32)), masks)
        elif augment["hflip"]:
            images, masks = flip(images, masks, flipped, flip_table)
        images = jitter(tf.cast(images, tf.float32), draws[:, 3] * augment["brightness"],
                        1 + draws[:, 4] * augment["contrast"])
        return recolour_randomly(images, augment, key), masks

    return augment_batch


def flip_lookup_table(scheme: ClassScheme) -> tf.Tensor | None:
    """uint8 table of 256 entries: training id -> its mirror's id; None if flips keep labels."""
    permutation = scheme.flip_permutation()
    if permutation is None:
        return None
    return tf.constant(permutation + list(range(len(permutation), 256)), tf.uint8)


def flip(images, masks, flipped, flip_table):
    """Mirror the samples where `flipped`, swapping left and right labels by `flip_table`."""
    where = flipped[:, None, None, None]
    mirrored = tf.reverse(masks, axis=[2])
    if flip_table is not None:
        mirrored = tf.gather(flip_table, tf.cast(mirrored, tf.int32))
    return (tf.where(where, tf.reverse(images, axis=[2]), images),
            tf.where(where, mirrored, masks))


def affine_transforms(angle, zoom, image_shape) -> tf.Tensor:
    """Rows [a0, a1, a2, b0, b1, b2, 0, 0] mapping output to input pixels: a rotation by
    `angle` (radians) and a zoom by `zoom` about the image centre."""
    height, width = tf.unstack(tf.cast(image_shape, tf.float32))
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    a2 = centre_x - cos * centre_x + sin * centre_y
    b2 = centre_y - sin * centre_x - cos * centre_y
    zeros = tf.zeros_like(cos)
    return tf.stack([cos, -sin, a2, sin, cos, b2, zeros, zeros], axis=1)


def mirrored(transforms, flipped, width) -> tf.Tensor:
    """`transforms` preceded, where `flipped`, by a left-right mirror of the input: the input
    column x becomes width - 1 - x."""
    mirror = tf.constant([-1, -1, -1, 1, 1, 1, 1, 1], tf.float32)
    shift = tf.cast(width - 1, tf.float32) * tf.constant([0, 0, 1, 0, 0, 0, 0, 0], tf.float32)
    return tf.where(flipped[:, None], transforms * mirror + shift, transforms)


def transform(images, transforms, interpolation: str, fill_mode: str) -> tf.Tensor:
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3],
        fill_value=0.0, interpolation=interpolation, fill_mode=fill_mode,
    )


def jitter(images, brightness, contrast) -> tf.Tensor:
    """Scale about the image mean by `contrast`, then add `brightness` (a fraction of 255)."""
    contrast = contrast[:, None, None, None]
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    offset = mean * (1 - contrast) + brightness[:, None, None, None] * 255
    return tf.clip_by_value(images * contrast + offset, 0, 255)


# RGB -> YIQ (NTSC): Y is the luma, I and Q the chroma plane a hue turns in.
RGB_TO_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


def recolour_randomly(images, augment: dict, key) -> tf.Tensor:
    """Each sample's saturation scaled by up to `augment["saturation"]` and its hue turned by
    up to `augment["hue"]` of the colour circle; the images as they are when both are 0.

    The draws come from their own seed, derived from `key`, so that switching the colour
    jitter on leaves every other draw of the batch as it was.
    """
    if not (augment["saturation"] or augment["hue"]):
        return images
    seed = tf.random.fold_in(key, 1)
    draws = tf.random.stateless_uniform([tf.shape(images)[0], 2], seed=seed,
                                        minval=-1.0, maxval=1.0)
    return recolour(images, 1 + draws[:, 0] * augment["saturation"],
                    draws[:, 1] * augment["hue"] * 2 * math.pi)


def recolour(images, saturation, hue_angle) -> tf.Tensor:
    """Scale each sample's chroma by `saturation` and turn it by `hue_angle` (radians) in
    YIQ space, keeping its luma; values clipped to 0..255."""
    to_yiq = tf.constant(RGB_TO_YIQ, tf.float32)
    cos, sin = saturation * tf.cos(hue_angle), saturation * tf.sin(hue_angle)
    ones, zeros = tf.ones_like(cos), tf.zeros_like(cos)
    chroma = tf.reshape(tf.stack([ones, zeros, zeros, zeros, cos, -sin, zeros, sin, cos],
                                 axis=1), [-1, 3, 3])
    matrices = tf.linalg.inv(to_yiq)[None] @ chroma @ to_yiq[None]
    return tf.clip_by_value(tf.einsum("bhwc,bdc->bhwd", images, matrices), 0, 255)


def one_hot_function(n_classes: int):
    """(images, masks) -> (float32 images, float32 one-hot of depth `n_classes`)."""

    def to_one_hot(images, masks):
        return tf.cast(images, tf.float32), one_hot(masks, n_classes)

    return to_one_hot


def one_hot(masks, n_classes: int) -> tf.Tensor:
    """float32 one-hot (..., C) of training-id masks (..., 1)."""
    return tf.one_hot(tf.cast(masks[..., 0], tf.int32), depth=n_classes, dtype=tf.float32)


@dataclass(frozen=True)
class FaceSample:
    """One face of a pair, planned for the tf.data graph: where its crop (`box`) and training
    context (`context`) lie in the photo as shown, the whole-photo view (`whole`), and the
    JPEG decoding ratio; the boxes are aligned to the ratio."""

    image: str
    mask: str
    orientation: int
    ratio: int
    box: crops.Box
    context: crops.Box
    whole: crops.Box


def plan_faces(pair: Pair, scheme: ClassScheme, settings: crops.CropSettings,
               context_factor: float) -> list[FaceSample]:
    """The faces of one pair's mask (`crops.face_boxes`; a mask with none gives one sample of
    the whole photo) and their crops."""
    labels = scheme.remap(load_label_map(pair.mask))
    height, width = labels.shape
    data = read_file(pair.image)
    orientation = exif_orientation(data)
    whole = crops.whole_box(height, width)
    boxes = [crops.square_box(box, settings.margin) for box in crops.face_boxes(labels)]
    samples = []
    for box in boxes or [whole]:
        context = crops.scaled_box(box, context_factor)
        ratio = 1
        if data[:len(JPEG_SIGNATURE)] == JPEG_SIGNATURE and orientation == 1:
            side = context[2] - context[0]
            target = math.ceil(settings.size * context_factor)
            whole_side = whole[2] - whole[0]
            ratio = max(r for r in JPEG_SCALE_RATIOS if r == 1 or (
                side // r >= JPEG_MIN_SCALED_SIDE * target
                and whole_side // r >= JPEG_MIN_SCALED_SIDE * settings.size))
        samples.append(FaceSample(str(pair.image), str(pair.mask), orientation, ratio,
                                  crops.aligned_box(box, ratio),
                                  crops.aligned_box(context, ratio),
                                  crops.aligned_box(whole, ratio)))
    return samples


def face_samples(pairs: list[Pair], params: dict, scheme: ClassScheme, training: bool,
                 shuffle_seed: int | None = None, shard_hint: bool = False):
    """(samples, count, augment) of `data.face_crop`: one sample per face of `pairs`.

    Training samples are the uint8 context (K, K, 3) and its training-id mask (K, K, 1), and
    the whole-photo view (S, S, 3) and mask; `augment` (for `batches`) cuts each batch's
    crops. Evaluation samples are the crops themselves (S, S, 3) and masks, no jitter; its
    `augment` is None.
    """
    data = params["data"]
    settings = crops.CropSettings.from_params(params)
    augment = data["augment"]
    factor = crops.context_factor(settings, augment["rotate_degrees"], augment["scale"])
    if not training:
        factor = 1.0
    with ThreadPoolExecutor() as pool:
        planned = pool.map(lambda p: plan_faces(p, scheme, settings, factor), pairs)
        faces = [face for group in planned for face in group]
    columns = {
        "image": [f.image for f in faces], "mask": [f.mask for f in faces],
        "orientation": np.array([f.orientation for f in faces], np.int32),
        "ratio": np.array([JPEG_SCALE_RATIOS.index(f.ratio) for f in faces], np.int32),
        "box": np.array([f.context if training else f.box for f in faces], np.int32),
        "whole": np.array([f.whole for f in faces], np.int32),
    }
    dataset = tf.data.Dataset.from_tensor_slices(columns)
    if shard_hint:
        dataset = dataset.shard(tf.data.experimental.SHARD_HINT, tf.data.experimental.SHARD_HINT)
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(faces), seed=shuffle_seed, reshuffle_each_iteration=True)
    size = settings.size
    side = math.ceil(size * factor) if training else size
    load = load_face_function(size, side, data["image_resize"], scheme, training)
    samples = dataset.map(load, num_parallel_calls=AUTOTUNE, deterministic=True)
    face_augment = face_augment_function(augment, settings, side, scheme) if training else None
    return samples, len(faces), face_augment


def load_face_function(size: int, side: int, image_resize: str, scheme: ClassScheme,
                       training: bool):
    """A planned face -> its crop (or, training, context and whole view), photo and mask."""
    table = tf.constant(scheme.lookup_table())

    def cut(photo, mask, box, ratio, out):
        image = resize_photo(crops.crop_padded_tf(photo, box // ratio), out, image_resize)
        labels = resize_mask(crops.crop_padded_tf(mask, box), out)
        return image, training_ids(labels, table)

    def load(face):
        contents = tf.io.read_file(face["image"])
        ratio = tf.gather(tf.constant(JPEG_SCALE_RATIOS), face["ratio"])
        photo = tf.cond(
            ratio > 1,
            lambda: tf.switch_case(face["ratio"], [
                functools.partial(tf.io.decode_jpeg, contents, channels=3, ratio=r)
                for r in JPEG_SCALE_RATIOS]),
            lambda: tf.io.decode_image(contents, channels=3, expand_animations=False))
        photo = orient_tf(photo, face["orientation"])
        mask = decode_mask(tf.io.read_file(face["mask"]))[..., :1]
        image, labels = cut(photo, mask, face["box"], ratio, side)
        if not training:
            return image, labels
        whole_image, whole_labels = cut(photo, mask, face["whole"], ratio, size)
        return image, labels, whole_image, whole_labels

    return load


def face_augment_function(augment: dict, settings: crops.CropSettings, context: int,
                          scheme: ClassScheme):
    """(contexts, context masks, wholes, whole masks, key) -> (images, masks) of S x S.

    Per sample: a crop cut from the context, jittered in position (`jitter_shift`) and scale
    (`jitter_scale`), or, with probability `whole_photo`, the whole-photo view; then the
    flip, rotation, zoom, brightness, contrast, saturation and hue of `data.augment`, as
    `augment_function`.
    """
    flip_table = flip_lookup_table(scheme)
    max_angle = augment["rotate_degrees"] * math.pi / 180
    size = settings.size

    def augment_batch(contexts, context_masks, wholes, whole_masks, key):
        batch = tf.shape(contexts)[0]
        draws = tf.random.stateless_uniform([batch, 9], seed=key, minval=-1.0, maxval=1.0)
        flipped = draws[:, 0] < 0
        angle, zoom = draws[:, 1] * max_angle, 1 + draws[:, 2] * augment["scale"]
        cut = crops.window_transforms(angle, zoom, draws[:, 5] * settings.jitter_shift,
                                      draws[:, 6] * settings.jitter_shift,
                                      1 + draws[:, 7] * settings.jitter_scale, context, size)
        whole = affine_transforms(angle, zoom, tf.shape(wholes)[1:3])
        if augment["hflip"]:
            cut = mirrored(cut, flipped, context)
            whole = mirrored(whole, flipped, size)
        images = tf.where(
            (draws[:, 8] + 1)[:, None, None, None] < 2 * settings.whole_photo,
            transform_to(wholes, whole, size, "BILINEAR", "REFLECT"),
            transform_to(contexts, cut, size, "BILINEAR", "REFLECT"))
        masks = tf.where(
            (draws[:, 8] + 1)[:, None, None, None] < 2 * settings.whole_photo,
            transform_to(whole_masks, whole, size, "NEAREST", "CONSTANT"),
            transform_to(context_masks, cut, size, "NEAREST", "CONSTANT"))
        if augment["hflip"] and flip_table is not None:
            masks = tf.where(flipped[:, None, None, None],
                             tf.gather(flip_table, tf.cast(masks, tf.int32)), masks)
        images = jitter(tf.cast(images, tf.float32), draws[:, 3] * augment["brightness"],
                        1 + draws[:, 4] * augment["contrast"])
        return recolour_randomly(images, augment, key), masks

    return augment_batch


def transform_to(images, transforms, size: int, interpolation: str, fill_mode: str):
    """`transform` into `size` x `size` outputs."""
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.constant([size, size]),
        fill_value=0.0, interpolation=interpolation, fill_mode=fill_mode,
    )
