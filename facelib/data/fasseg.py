"""FASSEG (FAce Semantic SEGmentation, University of Brescia) for `facelib convert fasseg`.

The upstream layout, in any letter case and with any image extension (upstream: BMP; a
re-encoded copy: JPEG photos, PNG labels):

    SRC/V1/{Train,Test}_RGB/N.ext  SRC/V1/{Train,Test}_Labels/N.ext   frontal01, rough labels
    SRC/V2/... the same, precise labels                                frontal02
    SRC/V3/{Train,Test}_RGB/POSE/personneXXSNN+0+POSE.ext              multipose01
    SRC/V3/{Train,Test}_labels/POSE/...                                (Pointing'04 photos)

- Labels are colour images of 6 classes. Each pixel is snapped to the nearest of the six
  colours (about 2% are blended edge colours); the share of snapped pixels is recorded in
  `conversion.json`. Some label images are painted in colours a few levels off the six
  (e.g. (255, 255, 1) for skin); they snap too. A label image with more than `MAX_FAR` of
  its pixels farther than `FAR` from every one of the six is not a FASSEG label (a photo,
  say): reported, and its pair left out.
- Written ids are the reference's source ids (`facelib.core.scheme.SOURCE_NAMES`), as for every
  converter, so any class scheme reads them: background 0, hair 10, skin 1, eyes 4, nose 6,
  mouth 8. FASSEG does not tell left from right eyes, nor lips from the mouth's inside: its
  eyes are written as 4 and its mouth as 8; schemes merge 4 with 5 and 7, 8, 9 (the default
  and `params/fasseg.yaml` do). Eyebrows are painted as hair there, ears and glasses as skin.
- Splits: Train -> `train/`, Test -> `val/` (facelib's `folders` split mode tests on val/),
  so the published division is kept. Test photos without a label image are not converted;
  their number is recorded.
- V1 is not converted: its photos are V2's with rough labels, and the same photo twice in
  train with two labellings (or in train and test) would be wrong. V2 is converted.
- Stems `SUBJECT_FRAME`: multipose photos `personneXX_REST` (XX the Pointing'04 person, so
  a person stays in one split); frontal photos `frontal02-train-N_0` and `frontal02-test-N_0`,
  each photo its own subject.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from facelib.core.errors import UsageError
from facelib.data.convert_io import SourceProblem, decode_file, encode_jpeg, read_image, size_text

# (R, G, B) -> reference source id.
COLOURS = {
    (255, 0, 0): 0,      # background
    (127, 0, 0): 10,     # hair (eyebrows included)
    (255, 255, 0): 1,    # skin (ears included)
    (0, 0, 255): 4,      # eyes
    (0, 255, 255): 6,    # nose
    (0, 255, 0): 8,      # mouth
}
FAR = 40           # RGB distance; the closest two label colours are 128 apart
MAX_FAR = 0.25
IMAGE_SUFFIXES = (".bmp", ".jpg", ".jpeg", ".png", ".tif", ".tiff")
VERSIONS = {"V2": "frontal02", "V3": "multipose01"}
IGNORED_VERSION = "V1"
SPLIT_FOLDER = {"train": "train", "test": "val"}
PERSON = re.compile(r"^personne(\d\d)(.+)$", re.IGNORECASE)  # XX: two digits

_PALETTE_BGR = np.array([(b, g, r) for r, g, b in COLOURS], np.int32)
_IDS = np.array(list(COLOURS.values()), np.uint8)


class Tally:
    """Snapped and total label pixels of each converted pair, filled from worker threads."""

    def __init__(self):
        self.counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def add(self, stem: str, snapped: int, total: int) -> None:
        with self._lock:
            self.counts[stem] = (snapped, total)


def snap(label_bgr: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(uint8 map of source ids, pixels that were none of the six colours exactly, pixels
    farther than `FAR` from all six)."""
    pixels = label_bgr.reshape(-1, 3).astype(np.int32)
    distance = ((pixels[:, None, :] - _PALETTE_BGR[None]) ** 2).sum(axis=2)
    nearest = distance.argmin(axis=1)
    least = distance[np.arange(len(nearest)), nearest]
    snapped, far = int(np.count_nonzero(least)), int(np.count_nonzero(least > FAR ** 2))
    return _IDS[nearest].reshape(label_bgr.shape[:2]), snapped, far


@dataclass(frozen=True)
class FassegJob:
    """One FASSEG photo and its colour label image."""

    folder: str
    stem: str
    image: Path
    label: Path
    tally: Tally = field(compare=False, repr=False)

    def read_label(self) -> np.ndarray:
        colour = decode_file(self.label, cv2.IMREAD_UNCHANGED)
        if colour.ndim != 3 or colour.shape[2] not in (3, 4) or colour.dtype != np.uint8:
            raise SourceProblem(self.label, "is not an 8-bit colour label image")
        ids, snapped, far = snap(np.ascontiguousarray(colour[..., :3]))
        if far > MAX_FAR * ids.size:
            raise SourceProblem(self.label, f"{far / ids.size:.0%} of its pixels are far from "
                                            "all of FASSEG's six label colours")
        self.tally.add(self.stem, snapped, ids.size)
        return ids

    def render(self) -> tuple[bytes, np.ndarray]:
        mask = self.read_label()
        data, image = read_image(self.image)
        if image.shape[:2] != mask.shape:
            raise SourceProblem(self.label, f"is {size_text(mask)}, its photo is "
                                            f"{size_text(image)}")
        return (data if data is not None else encode_jpeg(image)), mask


def _child(folder: Path, name: str) -> Path | None:
    """The subfolder of `folder` named `name` in any letter case (Train_Labels, Train_labels)."""
    if not folder.is_dir():
        return None
    matches = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.lower() == name)
    return matches[0] if matches else None


def _images(folder: Path | None) -> dict[str, Path]:
    """Image files under `folder` (pose subfolders included) by their path without suffix."""
    if folder is None:
        return {}
    return {str(p.relative_to(folder).with_suffix("")): p for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES}


def _stem(version: str, split: str, name: str) -> str | None:
    if version == "V3":
        match = PERSON.match(name)
        return f"personne{match[1]}_{match[2]}" if match else None
    return f"{VERSIONS[version]}-{split}-{name}_0"


def plan(src: Path) -> tuple[list[FassegJob], list[str], dict]:
    """Jobs, planning problems, and how splits and subjects were decided."""
    versions = {v: _child(src, v.lower()) for v in (IGNORED_VERSION, *VERSIONS)}
    if versions["V2"] is None and versions["V3"] is None:
        raise UsageError(f"{src}: not a FASSEG folder; expected {src}/V2/Train_RGB/N.bmp, "
                         f"{src}/V2/Train_Labels/N.bmp and/or {src}/V3/Train_RGB/POSE/...")
    tally = Tally()
    jobs, problems, taken = [], [], set()
    unlabelled: dict[str, int] = {}
    converted = []
    for version in VERSIONS:
        if versions[version] is None:
            continue
        converted.append(f"{version} ({VERSIONS[version]})")
        for split, folder in SPLIT_FOLDER.items():
            photos = _images(_child(versions[version], f"{split}_rgb"))
            labels = _images(_child(versions[version], f"{split}_labels"))
            for key in sorted(photos.keys() | labels.keys()):
                if key not in labels:
                    if split == "test":
                        unlabelled[version] = unlabelled.get(version, 0) + 1
                    else:
                        problems.append(f"{photos[key]}: no label image; left out")
                    continue
                if key not in photos:
                    problems.append(f"{labels[key]}: no photo in {split.title()}_RGB/; left out")
                    continue
                stem = _stem(version, split, Path(key).name)
                if stem is None:
                    problems.append(f"{photos[key]}: not named personneXX...; left out")
                    continue
                if stem in taken:
                    problems.append(f"{photos[key]}: a second photo named {stem}; left out")
                    continue
                taken.add(stem)
                jobs.append(FassegJob(folder, stem, photos[key], labels[key], tally))
    how = {
        "splits": "Train -> train, Test -> val",
        "subjects": "multipose: the personneXX person; frontal: each photo its own subject",
        "versions": converted,
        "unlabelled test photos (not converted)": unlabelled,
    }
    if versions[IGNORED_VERSION] is not None:
        how["ignored"] = "V1 (frontal01: V2's photos with rough labels)"
    return jobs, problems, how


def finish(jobs: list[FassegJob]) -> dict:
    """What to add to the conversion record once every pair is there: the snapped share.

    Pairs converted by an earlier, interrupted run have their labels read again.
    """
    if not jobs:
        return {}
    tally = jobs[0].tally
    for job in jobs:
        if job.stem not in tally.counts:
            try:
                job.read_label()
            except SourceProblem:
                pass  # reported when it was converted
    snapped = sum(s for s, _ in tally.counts.values())
    total = sum(t for _, t in tally.counts.values())
    return {"snapped pixels": {"share": snapped / total if total else 0.0,
                               "pixels": snapped, "of": total,
                               "rule": "nearest of the six label colours (RGB distance)"}}
