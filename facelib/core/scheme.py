"""Class scheme: which source label ids make up each training class, and its colour.

Source ids are those of the reference dataset (Kaggle `multiclass-face-segmentation`),
0..17. Their names come from a third-party description of that dataset, not from its
authors; 7 and 9 (lower/upper lip) may be swapped there, which the default merge into
`mouth` makes harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class SourceId(IntEnum):
    """The source ids, declared once: code names a part by its member, never by its number.
    A member's name, lower-cased with spaces, is the part's name in `SOURCE_NAMES`."""

    BACKGROUND = 0
    FACE_SKIN = 1
    LEFT_EYEBROW = 2
    RIGHT_EYEBROW = 3
    LEFT_EYE = 4
    RIGHT_EYE = 5
    NOSE = 6
    LOWER_LIP = 7
    MOUTH_INTERIOR = 8
    UPPER_LIP = 9
    HAIR = 10
    LEFT_EYELID = 11
    RIGHT_EYELID = 12
    LEFT_EAR = 13
    RIGHT_EAR = 14
    HEAD_COVERING = 15
    GLASSES = 16
    BALD_PATCH = 17


SOURCE_NAMES = {int(part): part.name.lower().replace("_", " ") for part in SourceId}
N_SOURCE_IDS = len(SOURCE_NAMES)

# Pairs of source ids that swap under a horizontal flip of the image: (person's left, right).
LEFT_RIGHT_PAIRS = tuple((int(left), int(right)) for left, right in (
    (SourceId.LEFT_EYEBROW, SourceId.RIGHT_EYEBROW), (SourceId.LEFT_EYE, SourceId.RIGHT_EYE),
    (SourceId.LEFT_EYELID, SourceId.RIGHT_EYELID), (SourceId.LEFT_EAR, SourceId.RIGHT_EAR)))


@dataclass(frozen=True)
class ClassScheme:
    """An ordered set of training classes; training id = position in `names`."""

    names: tuple[str, ...]
    source_ids: tuple[tuple[int, ...], ...]
    colors: tuple[tuple[int, int, int], ...]

    @classmethod
    def from_params(cls, classes: dict) -> ClassScheme:
        """Build from the params mapping `{name: {"ids": [...], "color": [r, g, b]}}`."""
        names = tuple(classes)
        ids = tuple(tuple(int(i) for i in spec["ids"]) for spec in classes.values())
        colors = tuple(tuple(int(c) for c in spec["color"]) for spec in classes.values())
        scheme = cls(names, ids, colors)
        scheme.check()
        return scheme

    def check(self) -> None:
        seen: dict[int, str] = {}
        for name, ids in zip(self.names, self.source_ids, strict=True):
            for i in ids:
                if not 0 <= i < N_SOURCE_IDS:
                    raise ValueError(f"class {name!r}: source id {i} is outside "
                                     f"0..{N_SOURCE_IDS - 1}")
                if i in seen:
                    raise ValueError(f"source id {i} is in both {seen[i]!r} and {name!r}")
                seen[i] = name
        missing = sorted(set(SOURCE_NAMES) - set(seen))
        if missing:
            raise ValueError(f"source ids {missing} belong to no class")

    @property
    def n_classes(self) -> int:
        return len(self.names)

    @property
    def foreground(self) -> tuple[int, ...]:
        """Training ids of the face classes (every class but the first, background)."""
        return tuple(range(1, self.n_classes))

    def lookup_table(self) -> np.ndarray:
        """uint8 array of 256 entries: source id -> training id; unknown ids -> 255."""
        table = np.full(256, 255, dtype=np.uint8)
        for train_id, ids in enumerate(self.source_ids):
            table[list(ids)] = train_id
        return table

    def remap(self, mask: np.ndarray) -> np.ndarray:
        """Source-id label map -> training-id label map."""
        return self.lookup_table()[mask]

    def palette(self) -> np.ndarray:
        """(n_classes, 3) uint8 RGB colours in training-id order."""
        return np.asarray(self.colors, dtype=np.uint8)

    def flip_permutation(self) -> list[int] | None:
        """Training-id permutation for a horizontal flip, or None when flips keep labels.

        The default scheme merges left and right parts, so a flip changes no label; a scheme
        that keeps them apart gets their ids swapped.
        """
        table = self.lookup_table()
        perm = list(range(self.n_classes))
        for left, right in LEFT_RIGHT_PAIRS:
            a, b = int(table[left]), int(table[right])
            if a != b:
                perm[a], perm[b] = b, a
        return None if perm == list(range(self.n_classes)) else perm


def colorize(label_map: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """RGB picture of a label map: class k gets palette[k]; ids outside the palette white."""
    labels = np.asarray(label_map)
    palette = np.asarray(palette, dtype=np.uint8)
    known = (labels >= 0) & (labels < len(palette))
    out = np.full((*labels.shape, 3), 255, dtype=np.uint8)
    out[known] = palette[labels[known]]
    return out


def overlay(image_rgb: np.ndarray, label_map: np.ndarray, palette: np.ndarray,
            alpha: float = 0.5) -> np.ndarray:
    """The photo with class colours blended in at `alpha`; background (0) left as it is."""
    image = np.asarray(image_rgb)
    labels = np.asarray(label_map)
    if image.shape[:2] != labels.shape or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"overlay: expected an (H, W, 3) photo and an (H, W) label map, got "
                         f"{image.shape} and {labels.shape}")
    blended = (1 - alpha) * image.astype(np.float32) + alpha * colorize(labels, palette)
    out = image.astype(np.uint8, copy=True)
    foreground = labels != 0
    out[foreground] = np.round(blended[foreground]).astype(np.uint8)
    return out
