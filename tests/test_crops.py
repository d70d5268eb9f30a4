"""The face-crop geometry (facelib.data.crops) against hand-computed answers."""

import numpy as np
import pytest
import tensorflow as tf

from facelib.data import crops


def test_extent_is_the_box_of_the_true_pixels_ends_exclusive():
    face = np.zeros((10, 12), bool)
    face[2:5, 3:9] = True
    assert crops.extent(face) == (3, 2, 9, 5)
    assert crops.extent(np.zeros((4, 4), bool)) is None


def test_face_regions_join_close_parts_and_drop_specks():
    labels = np.zeros((100, 200), np.uint8)
    labels[10:50, 10:40] = 1        # a face
    labels[20:30, 41:44] = 6        # its ear, 1 px away: the same face (join 2 px at 200)
    labels[20:80, 120:170] = 1      # a larger face
    labels[95:97, 60:62] = 3        # a speck of 4 px: no face
    boxes = crops.face_boxes(labels)
    assert boxes == [(120, 20, 170, 80), (10, 10, 44, 50)]
    regions = crops.face_regions(labels)
    assert regions[1][1].sum() == 40 * 30 + 10 * 3
    assert crops.face_boxes(np.zeros((5, 5), np.uint8)) == []


def test_face_regions_min_share_keeps_small_faces_when_asked():
    labels = np.zeros((200, 200), np.uint8)
    labels[0:100, 0:100] = 1
    labels[150:155, 150:155] = 1  # 25 px, 0.25% of the large face
    assert len(crops.face_boxes(labels)) == 1
    assert len(crops.face_regions(labels, min_share=0.0)) == 2


def test_square_box_adds_the_margin_of_the_longer_side_about_the_centre():
    # extent 20 x 40: side 40 * 1.5 = 60, centred on (20, 40)
    assert crops.square_box((10, 20, 30, 60), 0.25) == (-10, 10, 50, 70)
    assert crops.square_box((0, 0, 3, 3), 0.0) == (0, 0, 3, 3)
    assert crops.whole_box(30, 50) == (0, -10, 50, 40)
    assert crops.whole_box(50, 30) == (-10, 0, 40, 50)
    assert crops.scaled_box((0, 0, 10, 10), 2.0) == (-5, -5, 15, 15)


def test_aligned_box_widens_to_multiples_of_the_ratio():
    assert crops.aligned_box((-10, 10, 50, 70), 4) == (-12, 8, 52, 72)
    assert crops.aligned_box((-10, 10, 50, 70), 1) == (-10, 10, 50, 70)


def test_crop_padded_pads_with_zeros_outside_the_photo_in_numpy_and_tensorflow():
    image = np.arange(1, 4 * 5 * 3 + 1, dtype=np.uint8).reshape(4, 5, 3)
    box = (-2, 1, 4, 7)  # 6 x 6: 2 columns left of the photo, 3 rows below it
    expected = np.zeros((6, 6, 3), np.uint8)
    expected[0:3, 2:6] = image[1:4, 0:4]
    assert np.array_equal(crops.crop_padded(image, box), expected)
    assert np.array_equal(crops.crop_padded_tf(tf.constant(image), tf.constant(box)).numpy(),
                          expected)
    outside = (10, 10, 13, 12)
    assert not crops.crop_padded(image, outside).any()
    assert crops.crop_padded_tf(tf.constant(image), tf.constant(outside)).numpy().shape == (2, 3, 3)


def test_boxes_map_between_photo_and_crop_pixels():
    crop = (100, 50, 300, 250)  # 200 px shown at 100 px
    assert crops.box_to_crop((150, 100, 250, 200), crop, 100) == (25, 25, 75, 75)
    assert crops.box_to_photo((25, 25, 75, 75), crop, 100) == (150, 100, 250, 200)
    assert crops.box_to_photo((0, 0, 1, 1), (0, 0, 3, 3), 2) == (0, 0, 2, 2)  # rounded outwards


def test_box_iou_and_one_to_one_matching():
    assert crops.box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert crops.box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert crops.box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    true = [(0, 0, 10, 10), (100, 100, 120, 120)]
    # two boxes on the first face (one is a duplicate, so false), one on nothing
    found = [(1, 0, 10, 10), (0, 0, 9, 10), (50, 50, 60, 60)]
    assert crops.match_faces(true, found) == (1, 2)
    assert crops.match_faces(true, [(100, 100, 119, 120), (0, 0, 10, 10)]) == (2, 0)
    assert crops.match_faces(true, [(0, 0, 20, 20)]) == (0, 1)  # IoU 0.25
    assert crops.match_faces([], []) == (0, 0)


def test_paste_probabilities_places_each_piece_and_keeps_the_least_background():
    one = np.zeros((2, 2, 3), np.float32)
    one[..., 1] = 0.7
    one[..., 0] = 0.3
    two = np.zeros((2, 2, 3), np.float32)
    two[..., 2] = 0.9
    two[..., 0] = 0.1
    # `one` covers columns 0-3 (half outside, on the left), `two` columns 2-5, rows 0-3
    full = crops.paste_probabilities(4, 6, [((-2, 0, 2, 4), one), ((2, 0, 6, 4), two)])
    labels = full.argmax(axis=-1)
    assert full.shape == (4, 6, 3)
    assert (labels[:, 0:2] == 1).all() and (labels[:, 2:6] == 2).all()
    assert np.allclose(full[:, :2, 0], 0.3)
    empty = crops.paste_probabilities(3, 3, [])
    assert (empty[..., 0] == 1).all() and empty.shape == (3, 3, 1)
    overlap = crops.paste_probabilities(4, 6, [((0, 0, 4, 4), two), ((0, 0, 4, 4), one)])
    assert (overlap[:4, :4].argmax(axis=-1) == 2).all()  # 0.1 background beats 0.3


def settings(**kw):
    return crops.CropSettings(enabled=True, margin=0.25, size=16, **kw)


def transformed(context_image, transforms, size):
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=context_image[None], transforms=transforms, output_shape=[size, size],
        fill_value=-1.0, interpolation="NEAREST", fill_mode="CONSTANT").numpy()[0]


def test_window_without_jitter_is_the_centred_square_of_the_context():
    context = tf.reshape(tf.range(24 * 24, dtype=tf.float32), (24, 24, 1))
    ones, zeros = tf.ones([1]), tf.zeros([1])
    window = transformed(context, crops.window_transforms(zeros, ones, zeros, zeros, ones,
                                                          24, 16), 16)
    assert np.array_equal(window, context.numpy()[4:20, 4:20])
    # moved right by 2/16 of the crop side and down by 1/16: 2 px and 1 px
    moved = transformed(context, crops.window_transforms(
        zeros, ones, 2 / 16 * ones, 1 / 16 * ones, ones, 24, 16), 16)
    assert np.array_equal(moved, context.numpy()[5:21, 6:22])


def test_the_largest_jitter_stays_inside_the_context():
    s = settings(jitter_shift=0.1, jitter_scale=0.2)
    rotate, zoom = 10.0, 0.1
    side = crops.context_size(s, rotate, zoom)
    angle = tf.constant([np.radians(rotate)] * 4, tf.float32)
    most = tf.constant([1 - zoom] * 4)
    corners = []
    for sx, sy in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
        t = crops.window_transforms(angle, most, sx * 0.1 * tf.ones(4), sy * 0.1 * tf.ones(4),
                                    1.2 * tf.ones(4), side, 16).numpy()[0]
        for x, y in ((0, 0), (15, 0), (0, 15), (15, 15)):
            corners.append((t[0] * x + t[1] * y + t[2], t[3] * x + t[4] * y + t[5]))
    corners = np.array(corners)
    assert corners.min() >= 0 and corners.max() <= side - 1


def test_coarse_views_are_the_whole_photo_then_overlapping_tiles():
    assert crops.coarse_views(600, 900, 1) == [(0, -150, 900, 750)]
    views = crops.coarse_views(600, 900, 2)
    assert views[1:] == [(0, -150, 600, 450), (300, -150, 900, 450), (0, 150, 600, 750),
                         (300, 150, 900, 750)]
    assert len(crops.coarse_views(30, 30, 3)) == 1 + 4 + 9
