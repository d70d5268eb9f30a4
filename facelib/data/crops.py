"""Face crops: the one geometry of training, evaluation and prediction (no model here).

A box is `(x0, y0, x1, y1)` in photo pixels, ends exclusive (the pixels `[y0:y1, x0:x1]`).
A face's extent is the box of its face-class pixels (every training class but background);
faces are the connected regions of those pixels, joined across gaps of `join` times the
photo's longer side (an ear behind a strand of hair stays with its face). The crop around a
face is a square: the extent's longer side plus `margin` of it on each side, about the
extent's centre; the parts outside the photo are padded with zeros (aspect kept), and the
square is resized to `data.image_size`. The whole-photo view is the square of the photo's
longer side about its centre, padded the same way.

Training jitters the crop: its centre moves by up to `jitter_shift` of its side and its side
changes by up to `jitter_scale`, from seeded draws (`window_transforms`). Prediction pastes
each face's class probabilities back into a full-size map (`paste_probabilities`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import tensorflow as tf

Box = tuple[int, int, int, int]

JOIN = 0.01            # gaps between parts of one face, as a fraction of the photo's longer side
MIN_FACE_SHARE = 0.05  # a region smaller than this share of the largest region is not a face
MIN_FACE_PIXELS = 16


@dataclass(frozen=True)
class CropSettings:
    """`data.face_crop` and `data.crop` of a params dict, `eval.hflip` (each view is parsed
    mirrored too: `localise.probabilities`) and `eval.refine` (`localise.refine_edges`)."""

    enabled: bool
    margin: float
    size: int
    jitter_shift: float = 0.0
    jitter_scale: float = 0.0
    whole_photo: float = 0.0
    min_score: float = 0.5
    coarse_grid: int = 2
    hflip: bool = False
    refine_reach: float = 0.0  # `eval.refine.radius` as a share of the view's side
    refine_eps: float = 0.01

    @classmethod
    def from_params(cls, params: dict) -> CropSettings:
        data = params["data"]
        crop = data["crop"]
        return cls(enabled=data["face_crop"], margin=crop["margin"], size=data["image_size"],
                   jitter_shift=crop["jitter_shift"], jitter_scale=crop["jitter_scale"],
                   whole_photo=crop["whole_photo"], min_score=crop["min_score"],
                   coarse_grid=crop["coarse_grid"], hflip=params["eval"]["hflip"],
                   refine_reach=params["eval"]["refine"]["radius"] / data["image_size"],
                   refine_eps=params["eval"]["refine"]["eps"])


def extent(face: np.ndarray) -> Box | None:
    """The box of the True pixels of `face` (H, W); None if there are none."""
    rows, cols = np.flatnonzero(face.any(axis=1)), np.flatnonzero(face.any(axis=0))
    if not len(rows):
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def face_regions(labels: np.ndarray, join: float = JOIN, min_share: float = MIN_FACE_SHARE
                 ) -> list[tuple[Box, np.ndarray]]:
    """The faces of a training-id label map: (extent, boolean pixels) of each, largest first.

    Face-class pixels (labels != 0) closer than `join` times the longer side are one region;
    regions under `min_share` of the largest, or `MIN_FACE_PIXELS`, are left out.
    """
    face = np.asarray(labels) != 0
    if not face.any():
        return []
    reach = max(1, round(join * max(face.shape)))
    joined = cv2.dilate(face.astype(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8))
    count, ids = cv2.connectedComponents(joined, connectivity=8)
    ids = np.where(face, ids, 0)
    areas = np.bincount(ids.ravel(), minlength=count)
    areas[0] = 0
    keep = [i for i in np.argsort(-areas, kind="stable")
            if areas[i] >= max(MIN_FACE_PIXELS, min_share * areas.max())]
    return [(extent(ids == i), ids == i) for i in keep]


def face_boxes(labels: np.ndarray, join: float = JOIN) -> list[Box]:
    """The extents of `face_regions(labels)`, largest region first."""
    return [box for box, _ in face_regions(labels, join)]


def square_box(box: Box, margin: float) -> Box:
    """The square crop of a face's extent: its longer side plus `margin` of it on each side,
    centred on the extent (integer pixels, possibly reaching outside the photo)."""
    x0, y0, x1, y1 = box
    side = max(1, math.ceil(max(x1 - x0, y1 - y0) * (1 + 2 * margin)))
    left = math.floor((x0 + x1 - side) / 2)
    top = math.floor((y0 + y1 - side) / 2)
    return left, top, left + side, top + side


def whole_box(height: int, width: int) -> Box:
    """The whole-photo view: the square of the longer side about the photo's centre."""
    return square_box((0, 0, width, height), 0.0)


def coarse_views(height: int, width: int, grid: int) -> list[Box]:
    """The localiser's coarse views of a photo: the whole-photo view, then for each n of
    2..`grid` an n x n grid of overlapping square tiles of it, each of side 2/(n+1) of the
    photo's longer side."""
    whole = whole_box(height, width)
    side = whole[2] - whole[0]
    views = [whole]
    for n in range(2, grid + 1):
        tile = math.ceil(2 * side / (n + 1))
        offsets = [round(i * (side - tile) / (n - 1)) for i in range(n)]
        views += [(whole[0] + dx, whole[1] + dy, whole[0] + dx + tile, whole[1] + dy + tile)
                  for dy in offsets for dx in offsets]
    return views


def scaled_box(box: Box, factor: float) -> Box:
    """The square `box` grown (or shrunk) by `factor` about its centre."""
    x0, y0, x1, y1 = box
    side = max(1, math.ceil((x1 - x0) * factor))
    left = math.floor((x0 + x1 - side) / 2)
    top = math.floor((y0 + y1 - side) / 2)
    return left, top, left + side, top + side


def aligned_box(box: Box, ratio: int) -> Box:
    """`box` widened to multiples of `ratio` (a JPEG decoded at 1/ratio covers whole blocks)."""
    x0, y0, x1, y1 = box
    return (x0 // ratio * ratio, y0 // ratio * ratio,
            -(-x1 // ratio) * ratio, -(-y1 // ratio) * ratio)


def crop_padded(image: np.ndarray, box: Box) -> np.ndarray:
    """The pixels of `box`, zeros where it reaches outside `image` (H, W[, C])."""
    x0, y0, x1, y1 = box
    height, width = image.shape[:2]
    out = np.zeros((y1 - y0, x1 - x0, *image.shape[2:]), image.dtype)
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if cx1 > cx0 and cy1 > cy0:
        out[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0] = image[cy0:cy1, cx0:cx1]
    return out


def crop_padded_tf(image, box) -> tf.Tensor:
    """`crop_padded` in TensorFlow; `box` an int32 tensor (4,)."""
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    x0, y0, x1, y1 = tf.unstack(tf.cast(box, tf.int32))

    def span(start, end, length):  # (first pixel inside, pixels inside, padding before)
        first = tf.maximum(start, 0)
        inside = tf.maximum(tf.minimum(end, length) - first, 0)
        before = tf.minimum(first - start, end - start)
        return tf.minimum(first, length), inside, before

    left, columns, pad_left = span(x0, x1, width)
    top, rows, pad_top = span(y0, y1, height)
    inside = image[top:top + rows, left:left + columns]
    padding = [[pad_top, y1 - y0 - rows - pad_top], [pad_left, x1 - x0 - columns - pad_left],
               [0, 0]]
    return tf.pad(inside, padding)


def box_to_photo(box: Box, crop: Box, size: int) -> Box:
    """A box in the pixels of a crop resized to `size` x `size`, in photo pixels."""
    scale = (crop[2] - crop[0]) / size
    x0, y0, x1, y1 = box
    return (math.floor(crop[0] + x0 * scale), math.floor(crop[1] + y0 * scale),
            math.ceil(crop[0] + x1 * scale), math.ceil(crop[1] + y1 * scale))


def box_to_crop(box: Box, crop: Box, size: int) -> Box:
    """A box in photo pixels, in the pixels of `crop` resized to `size` x `size`."""
    scale = size / (crop[2] - crop[0])
    x0, y0, x1, y1 = box
    return (math.floor((x0 - crop[0]) * scale), math.floor((y0 - crop[1]) * scale),
            math.ceil((x1 - crop[0]) * scale), math.ceil((y1 - crop[1]) * scale))


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(iw, 0) * max(ih, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_faces(true: list[Box], found: list[Box], threshold: float = 0.5) -> tuple[int, int]:
    """(true faces found, found boxes that are no true face): greedy one-to-one matching,
    best IoU first, a match needing IoU >= `threshold`."""
    pairs = sorted(((box_iou(t, f), i, j) for i, t in enumerate(true)
                    for j, f in enumerate(found)), reverse=True)
    used_true, used_found = set(), set()
    for iou, i, j in pairs:
        if iou >= threshold and i not in used_true and j not in used_found:
            used_true.add(i)
            used_found.add(j)
    return len(used_true), len(found) - len(used_found)


def paste_probabilities(height: int, width: int, pieces: list[tuple[Box, np.ndarray]],
                        refine=None) -> np.ndarray:
    """A (height, width, C) map of class probabilities from `pieces` of (crop box, (S, S, C)
    probabilities): each piece is resized (bilinear) to its box, passed through
    `refine(probabilities, box)` if given, and pasted where it is inside the photo; where
    pieces overlap, a pixel takes the piece with the least background (class 0) there;
    pixels of no piece are background with probability 1."""
    n_classes = pieces[0][1].shape[-1] if pieces else 1
    full = np.zeros((height, width, n_classes), np.float32)
    full[..., 0] = 1
    for box, probabilities in pieces:
        x0, y0, x1, y1 = box
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        resized = cv2.resize(np.asarray(probabilities, np.float32), (x1 - x0, y1 - y0),
                             interpolation=cv2.INTER_LINEAR)
        if resized.ndim == 2:  # cv2 drops a single channel
            resized = resized[..., None]
        if refine is not None:
            resized = refine(resized, box)
        piece = resized[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
        region = full[cy0:cy1, cx0:cx1]
        better = piece[..., 0] < region[..., 0]
        region[better] = piece[better]
    return full


def context_factor(settings: CropSettings, rotate_degrees: float, zoom: float) -> float:
    """How much larger than the crop the cached training context is, so that a jittered,
    rotated and zoomed-out crop stays inside it."""
    half = 0.5 * (1 + settings.jitter_scale) / (1 - zoom)
    angle = math.radians(min(rotate_degrees, 45.0))
    return 2 * (half * (abs(math.cos(angle)) + abs(math.sin(angle))) + settings.jitter_shift)


def context_size(settings: CropSettings, rotate_degrees: float, zoom: float) -> int:
    """Side of the cached training context, in pixels at the crop's resolution."""
    return math.ceil(settings.size * context_factor(settings, rotate_degrees, zoom))


def window_transforms(angle, zoom, shift_x, shift_y, scale, context: int, size: int
                      ) -> tf.Tensor:
    """Rows [a0, a1, a2, b0, b1, b2, 0, 0] mapping the pixels of a `size` x `size` crop to
    those of the `context` x `context` view it is cut from, per sample.

    At no jitter (angle 0, zoom 1, shifts 0, scale 1) the crop is the centred `size` square
    of the context. The crop is rotated by `angle` (radians) about its centre, zoomed in by
    `zoom`, its side multiplied by `scale` and its centre moved by (`shift_x`, `shift_y`)
    times `size`.
    """
    step = tf.cast(scale, tf.float32) / tf.cast(zoom, tf.float32)
    cos, sin = tf.cos(angle) * step, tf.sin(angle) * step
    out_centre = (size - 1) / 2
    centre_x = (context - 1) / 2 + shift_x * size
    centre_y = (context - 1) / 2 + shift_y * size
    a2 = centre_x - cos * out_centre + sin * out_centre
    b2 = centre_y - sin * out_centre - cos * out_centre
    zeros = tf.zeros_like(cos)
    return tf.stack([cos, -sin, a2, sin, cos, b2, zeros, zeros], axis=1)
