"""Finding the faces of a photo with the parser itself, then parsing each face in its crop.

No mask is ever read here. For a model trained on face crops (`data.face_crop: true`):

1. coarse pass: the whole photo (padded to a square) goes through the model, and so do
   overlapping tiles of it (`crop.coarse_grid`, `crops.coarse_views`), where small faces
   appear at about the scale the model learnt; every connected region of face classes
   (`crops.face_regions`) is a candidate face;
2. each candidate's square crop (`crops.square_box`) is parsed; the face regions of that
   finer parse are the faces, and one whose extent moved (IoU under `REFINE_IOU`: the
   candidate was part of a face, or faces ran together) is cropped and parsed once more
   about its new extent;
3. a region is a face if its mean face-class probability reaches `crop.min_score` and it
   holds at least `MIN_CLASSES` face classes (`is_face`); of two boxes that overlap, or one
   inside the other, the larger stays (`distinct`);
4. the class probabilities of each face's crop are pasted back into a map of the photo's
   size (`crops.paste_probabilities`), each through the guided filter of `eval.refine`
   (`refine_edges`) where it is on; the label map is its argmax. A photo without a face
   gets an all-background map.

A model trained on whole photos (`face_crop: false`) is run on the whole photo squashed to
its input, as before, and its faces are the regions of its label map at the input
resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import tensorflow as tf

from facelib.data import crops
from facelib.data.crops import Box, CropSettings

REFINE_IOU = 0.8       # a finer extent this different from the coarse one is cropped again
DUPLICATE_IOU = 0.4    # two faces overlapping this much are one
DUPLICATE_INSIDE = 0.6  # a face lying this much within a larger one is part of it
MIN_CLASSES = 3        # face classes a face holds (skin and two parts)
MIN_CLASS_SHARE = 0.002


@dataclass(frozen=True)
class Face:
    """A face found in a photo: its extent (photo pixels, ends exclusive), its score (mean
    face-class probability over its region) and the square crop it was parsed in."""

    box: Box
    score: float
    crop: Box

    def to_dict(self) -> dict:
        return {"box": list(self.box), "score": round(self.score, 4)}


@dataclass
class ParsedPhoto:
    """The label map (training ids) of a photo at its own size, and its faces."""

    labels: np.ndarray
    faces: list[Face] = field(default_factory=list)


def model_input_size(model) -> int:
    return int(model.input_shape[1])


def probabilities(model, views: list[np.ndarray], batch_size: int = 8,
                  hflip: bool = False) -> list[np.ndarray]:
    """float32 (S, S, C) class probabilities of square uint8 views, each area-resized to the
    model's input size as in training. `hflip` (`eval.hflip`): the mean of the view's and
    its mirror image's probabilities, mirrored back."""
    size = model_input_size(model)
    out = []
    for start in range(0, len(views), batch_size):
        batch = np.stack([tf.image.resize(v, (size, size), method="area").numpy()
                          for v in views[start:start + batch_size]])
        probs = np.asarray(model.predict_on_batch(batch), dtype=np.float32)
        if hflip:
            mirrored = np.asarray(model.predict_on_batch(batch[:, :, ::-1]), dtype=np.float32)
            probs = (probs + mirrored[:, :, ::-1]) / 2
        out += list(probs)
    return out


def region_score(probs: np.ndarray, region: np.ndarray) -> float:
    """Mean face-class probability (1 - background) over a region's pixels."""
    return float(1 - probs[..., 0][region].mean())


def regions_of(probs: np.ndarray, min_share: float = crops.MIN_FACE_SHARE):
    return crops.face_regions(probs.argmax(axis=-1), min_share=min_share)


def resize_probabilities(probabilities: np.ndarray, height: int, width: int) -> np.ndarray:
    """(S, S, C) probabilities resized (bilinear) to (height, width, C), float32."""
    resized = cv2.resize(probabilities.astype(np.float32), (width, height),
                         interpolation=cv2.INTER_LINEAR)
    return resized[..., None] if resized.ndim == 2 else resized  # cv2 drops a single channel


def probabilities_to_labels(probabilities: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize (S, S, C) probabilities to (height, width) and take the argmax -> uint8."""
    return resize_probabilities(probabilities, height, width).argmax(axis=-1).astype(np.uint8)


def refine_edges(image: np.ndarray, probabilities: np.ndarray, radius: int,
                 eps: float) -> np.ndarray:
    """`eval.refine`: (H, W, C) class probabilities of an RGB image (H, W, 3) at its size,
    filtered by OpenCV's guided filter (He et al., 2013) with the image as guide (colours in
    0..1): within `radius` pixels each class follows a linear function of the colours, so a
    part's edge moves to the image's edge nearby. `radius` < 1: unchanged."""
    if radius < 1:
        return probabilities
    guide = image.astype(np.float32) / 255
    refined = cv2.ximgproc.guidedFilter(guide, probabilities.astype(np.float32), radius, eps)
    return refined[..., None] if refined.ndim == 2 else refined


def refine_radius(settings: CropSettings, view_side: int) -> int:
    """The guided filter's radius in photo pixels for a view of `view_side` photo pixels."""
    return round(settings.refine_reach * view_side)


def edge_refiner(image: np.ndarray, settings: CropSettings):
    """`refine_edges` for the pieces of `crops.paste_probabilities`: each face crop's
    probabilities, at its box's size, with that part of the photo as guide; None when
    `eval.refine` is off."""
    if not settings.refine_reach:
        return None

    def refine(probabilities: np.ndarray, box: Box) -> np.ndarray:
        return refine_edges(crops.crop_padded(image, box), probabilities,
                            refine_radius(settings, box[2] - box[0]), settings.refine_eps)
    return refine


def segment_photos(model, images: list[np.ndarray], settings: CropSettings,
                   batch_size: int = 8) -> list[ParsedPhoto]:
    """Parse RGB photos (H, W, 3) with a model: label maps at each photo's size, and faces.

    No face found in a photo: its map is all background and its `faces` empty."""
    if not settings.enabled:
        return whole_photos(model, images, settings, batch_size)
    size = model_input_size(model)
    views = [(index, box) for index, image in enumerate(images)
             for box in crops.coarse_views(*image.shape[:2], settings.coarse_grid)]
    coarse = probabilities(model, [crops.crop_padded(images[i], box) for i, box in views],
                           batch_size, settings.hflip)
    candidates = []  # (photo index, extent in photo pixels)
    for (index, view), probs in zip(views, coarse, strict=True):
        for box, _ in regions_of(probs, min_share=0.0):
            candidates.append((index, crops.box_to_photo(box, view, size)))
    faces = refine(model, images, fewer(candidates), settings, batch_size)
    parsed = []
    for index, image in enumerate(images):
        found = distinct([f for i, f, _ in faces if i == index])
        pieces = [(f.crop, p) for i, f, p in faces if i == index and f in found]
        full = crops.paste_probabilities(*image.shape[:2], pieces, edge_refiner(image, settings))
        parsed.append(ParsedPhoto(full.argmax(axis=-1).astype(np.uint8), found))
    return parsed


def refine(model, images, candidates, settings: CropSettings, batch_size: int):
    """(photo index, Face, crop probabilities) of the candidates that hold a face.

    Every face region of a candidate's parse counts: one whose extent matches the
    candidate's (IoU >= `REFINE_IOU`) is a face; the others (the candidate was part of a
    face, or several faces ran together in the coarse pass) are cropped and parsed again."""
    size = model_input_size(model)
    results = []
    pending = candidates
    for final in (False, True):
        if not pending:
            break
        boxes = [crops.square_box(extent, settings.margin) for _, extent in pending]
        parsed = probabilities(model, [crops.crop_padded(images[i], box) for (i, _), box in
                                       zip(pending, boxes, strict=True)], batch_size,
                               settings.hflip)
        again = []
        for (index, extent), crop, probs in zip(pending, boxes, parsed, strict=True):
            regions = regions_of(probs)
            if final:
                best = best_region(regions, crops.box_to_crop(extent, crop, size))
                regions = [best] if best else []
            for box, region in regions:
                new_extent = crops.box_to_photo(box, crop, size)
                if final or crops.box_iou(new_extent, extent) >= REFINE_IOU:
                    if is_face(probs, region, settings):
                        score = region_score(probs, region)
                        results.append((index, Face(new_extent, score, crop), probs))
                else:
                    again.append((index, new_extent))
        pending = again
    return results


def fewer(candidates: list[tuple[int, Box]]) -> list[tuple[int, Box]]:
    """The candidates without those overlapping a larger one of their photo by
    `DUPLICATE_IOU` (the same face seen in several coarse views)."""
    kept: list[tuple[int, Box]] = []
    for index, box in sorted(candidates, key=lambda c: (c[0], -area(c[1]))):
        if all(i != index or crops.box_iou(box, k) < DUPLICATE_IOU for i, k in kept):
            kept.append((index, box))
    return kept


def is_face(probs: np.ndarray, region: np.ndarray, settings: CropSettings) -> bool:
    """A region is a face when its mean face-class probability reaches `min_score` and it
    holds `MIN_CLASSES` face classes (or all of a smaller scheme's), each on at least
    `MIN_CLASS_SHARE` of its pixels: skin alone (a hand, a neck) is no face."""
    if region_score(probs, region) < settings.min_score:
        return False
    labels = probs.argmax(axis=-1)[region]
    counts = np.bincount(labels, minlength=probs.shape[-1])[1:]
    enough = counts >= max(2, MIN_CLASS_SHARE * region.sum())
    return int(enough.sum()) >= min(MIN_CLASSES, probs.shape[-1] - 1)


def best_region(regions, expected: Box) -> tuple[Box, np.ndarray] | None:
    """Of a crop's face regions, the one that overlaps `expected` (crop pixels) most."""
    scored = [(crops.box_iou(box, expected), box, region) for box, region in regions]
    scored = [s for s in scored if s[0] > 0]
    if not scored:
        return None
    _, box, region = max(scored, key=lambda s: s[0])
    return box, region


def distinct(faces: list[Face]) -> list[Face]:
    """Faces without duplicates, in reading order (top to bottom, left to right).

    Larger boxes first; a box overlapping a kept one by `DUPLICATE_IOU`, or lying within it
    for `DUPLICATE_INSIDE` of its area (a part of that face), is dropped."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: (-area(f.box), -f.score)):
        if all(crops.box_iou(face.box, k.box) < DUPLICATE_IOU
               and inside_share(face.box, k.box) < DUPLICATE_INSIDE for k in kept):
            kept.append(face)
    return sorted(kept, key=lambda f: (f.box[1], f.box[0]))


def area(box: Box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def inside_share(box: Box, other: Box) -> float:
    """The share of `box`'s area that lies within `other`."""
    iw = min(box[2], other[2]) - max(box[0], other[0])
    ih = min(box[3], other[3]) - max(box[1], other[1])
    return max(iw, 0) * max(ih, 0) / max(area(box), 1)


def whole_photos(model, images: list[np.ndarray], settings: CropSettings,
                 batch_size: int = 8) -> list[ParsedPhoto]:
    """A whole-photo model's label maps (the photo squashed to the input size, the
    probabilities resized back) and, as faces, the regions of its face classes at the input
    resolution."""
    size = model_input_size(model)
    parsed = []
    for image, probs in zip(images, probabilities(model, images, batch_size, settings.hflip),
                            strict=True):
        height, width = image.shape[:2]
        sx, sy = width / size, height / size
        faces = []
        for (x0, y0, x1, y1), region in regions_of(probs):
            score = region_score(probs, region)
            box = (int(x0 * sx), int(y0 * sy), int(np.ceil(x1 * sx)), int(np.ceil(y1 * sy)))
            if score >= settings.min_score:
                faces.append(Face(box, score, (0, 0, width, height)))
        full = refine_edges(image, resize_probabilities(probs, height, width),
                            refine_radius(settings, max(height, width)), settings.refine_eps)
        parsed.append(ParsedPhoto(full.argmax(axis=-1).astype(np.uint8), faces))
    return parsed
