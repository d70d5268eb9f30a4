"""Checking every file of a dataset before training, and per-image class statistics.

Each problem is reported with the path of the file it concerns; bad data never raises a
traceback. Files are read in parallel threads (OpenCV releases the GIL) one pair at a time,
so memory stays flat however large the dataset. Only numpy and OpenCV here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from facelib.core.params import load_defaults
from facelib.core.scheme import ClassScheme
from facelib.data.discover import (
    EXTENSIONS,
    IMAGE_FOLDER,
    LAYOUT,
    MASK_FOLDER,
    DatasetError,
    Pair,
    as_label_map,
    dataset_folders,
    decode,
    decode_mask,
    exif_orientation,
    list_folder,
    load_label_map,
    read_file,
    shown_size,
    subject_of,
)


@dataclass(frozen=True)
class Problem:
    """What is wrong with one file (or folder)."""

    path: str
    problem: str
    stem: str | None = field(default=None, compare=False)  # the complete pair it spoils


@dataclass
class ValidationReport:
    """The result of `validate_dataset`."""

    n_pairs: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"n_pairs": self.n_pairs,
                "problems": [{"path": p.path, "problem": p.problem} for p in self.problems]}

    def summary(self) -> str:
        lines = [f"{self.n_pairs} pairs checked, {len(self.problems)} problems"]
        lines += [f"{p.path}: {p.problem}" for p in self.problems]
        return "\n".join(lines)

    def bad_paths(self) -> list[str]:
        return sorted({p.path for p in self.problems})

    def bad_stems(self) -> list[str]:
        """Stems of the pairs to leave out (`data.on_bad_sample: skip`)."""
        return sorted({p.stem for p in self.problems if p.stem is not None})


def default_scheme() -> ClassScheme:

    return ClassScheme.from_params(load_defaults()["data"]["classes"])


def validate_dataset(
    root: str | Path,
    scheme: ClassScheme | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> ValidationReport:
    """Check every file under `root` (reference layout) and report each problem with its path.

    Checked: a missing partner, an unsupported extension, two files of one stem, an empty or
    unreadable file, image and mask of different sizes (the image as shown, after its EXIF
    orientation), a mask that is not one 8-bit channel (three equal channels, and palette
    PNGs read by their indices, are accepted), label values outside `scheme` (default: the
    default class scheme). Raises DatasetError only when `root` is not a dataset folder at
    all.
    """
    root = Path(root)
    scheme = scheme or default_scheme()
    valid_labels = scheme.lookup_table() != 255
    problems: list[Problem] = []
    pairs: list[Pair] = []
    for folder in dataset_folders(root):
        found, listing_problems = _list_split_folder(root, folder)
        pairs += found
        problems += listing_problems
    if not pairs:
        problems.append(Problem(str(root), f"no image/mask pairs found (expected {LAYOUT})"))
    check = partial(check_pair, valid_labels=valid_labels)
    for pair_problems in _parallel(check, pairs, workers, progress, "validate"):
        problems += pair_problems
    return ValidationReport(len(pairs), sorted(problems, key=lambda p: (p.path, p.problem)))


def _list_split_folder(root: Path, folder: str) -> tuple[list[Pair], list[Problem]]:
    """Complete pairs of one split folder, and the problems of its listing."""
    problems = []
    listings = {}
    for kind in (IMAGE_FOLDER, MASK_FOLDER):
        path = root / folder / kind
        if not path.is_dir():
            problems.append(Problem(str(path), f"missing folder (expected {LAYOUT})"))
        listing = listings[kind] = list_folder(path)
        allowed = ", ".join(EXTENSIONS)
        problems += [Problem(str(p), f"unsupported extension (expected {allowed})")
                     for p in listing.unsupported]
        problems += [Problem(str(p), f"more than one file with the stem {p.stem!r}")
                     for p in listing.ambiguous]
    ambiguous = {p.stem for listing in listings.values() for p in listing.ambiguous}
    images, masks = listings[IMAGE_FOLDER].by_stem, listings[MASK_FOLDER].by_stem
    problems += [Problem(str(images[s]), f"no mask {s}.* in {root / folder / MASK_FOLDER}")
                 for s in sorted(images.keys() - masks.keys() - ambiguous)]
    problems += [Problem(str(masks[s]), f"no image {s}.* in {root / folder / IMAGE_FOLDER}")
                 for s in sorted(masks.keys() - images.keys() - ambiguous)]
    pairs = [Pair(s, subject_of(s), folder, images[s], masks[s])
             for s in sorted(images.keys() & masks.keys())]
    return pairs, problems


def check_pair(pair: Pair, valid_labels: np.ndarray) -> list[Problem]:
    """Problems of one pair; `valid_labels[v]` says whether label value v is allowed."""
    problems = []
    image = _decoded(pair.image, problems, pair.stem)
    mask = _decoded(pair.mask, problems, pair.stem, decode_mask)
    if mask is not None:
        try:
            mask = as_label_map(pair.mask, mask)
        except DatasetError as e:
            problems.append(_problem(e, pair.mask, pair.stem))
            mask = None
    if image is not None and mask is not None:
        shown = shown_size(image.shape, exif_orientation(read_file(pair.image)))
        if shown != mask.shape[:2]:
            turned = " once its EXIF orientation is applied" if shown != image.shape[:2] else ""
            problems.append(Problem(
                str(pair.mask),
                f"mask is {_size(mask)} but its image {pair.image.name} is "
                f"{shown[1]}x{shown[0]}{turned}",
                pair.stem,
            ))
    if mask is not None:
        outside = _labels_outside(mask, valid_labels)
        if outside:
            problems.append(Problem(
                str(pair.mask), f"label values outside the class scheme: {outside}", pair.stem
            ))
    return problems


def _decoded(path: Path, problems: list[Problem], stem: str,
             decoder: Callable = decode) -> np.ndarray | None:
    try:
        return decoder(path, read_file(path))
    except DatasetError as e:
        problems.append(_problem(e, path, stem))
        return None


def _problem(error: DatasetError, path: Path, stem: str) -> Problem:
    """A DatasetError ("PATH: what") as a Problem."""
    message = str(error).removeprefix(f"{path}: ")
    return Problem(str(path), message, stem)


def _size(array: np.ndarray) -> str:
    return f"{array.shape[1]}x{array.shape[0]}"


def _labels_outside(mask: np.ndarray, valid_labels: np.ndarray) -> str:
    """The label values of `mask` not allowed, with pixel counts, e.g. "42 (12 px)"; or ""."""
    counts = np.bincount(mask.ravel(), minlength=256)
    bad = np.flatnonzero((counts > 0) & ~valid_labels)
    return ", ".join(f"{v} ({counts[v]} px)" for v in bad)


def class_pixel_counts(
    pairs: list[Pair],
    scheme: ClassScheme,
    workers: int | None = None,
    progress: bool | None = None,
):
    """pandas DataFrame, one row per pair: stem, subject, folder, height, width, and the share
    of the mask's pixels in each training class (one column per class name).

    Masks are read one at a time in parallel threads; an unreadable mask raises DatasetError.
    """
    def fractions(pair: Pair) -> dict:
        return class_fractions(pair, load_label_map(pair.mask), scheme)

    return fractions_table(_parallel(fractions, pairs, workers, progress, "class pixels"), scheme)


def class_fractions(pair: Pair, labels: np.ndarray, scheme: ClassScheme) -> dict:
    """A row of `class_pixel_counts`: the pair's names, the size of its source-id `labels`,
    and the share of their pixels in each training class."""
    counts = np.bincount(scheme.remap(labels).ravel(), minlength=256)
    row = {"stem": pair.stem, "subject": pair.subject, "folder": pair.folder,
           "height": labels.shape[0], "width": labels.shape[1]}
    return row | dict(zip(scheme.names, counts[: scheme.n_classes] / labels.size, strict=True))


def fractions_table(rows: Iterable[dict], scheme: ClassScheme):
    """pandas DataFrame of `class_fractions` rows, columns in a fixed order."""

    columns = ["stem", "subject", "folder", "height", "width", *scheme.names]
    return pd.DataFrame(list(rows), columns=columns)


def _parallel(
    function: Callable, items: Iterable, workers: int | None, progress: bool | None, desc: str
) -> Iterator:
    """`function` over `items` in threads, results in order, with an optional progress bar."""

    items = list(items)
    show = sys.stderr.isatty() if progress is None else progress
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as executor:
        yield from tqdm(executor.map(function, items), total=len(items), desc=desc,
                        unit="pair", disable=not show, leave=False)
