"""Tiny datasets in the reference layout, written with OpenCV, for the data tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_file(path: Path, array: np.ndarray) -> Path:
    """Write an RGB (or single-channel) array with OpenCV; the extension picks the format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if array.ndim == 3 and array.shape[-1] == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(path.suffix.lower(), array)
    assert ok, path
    path.write_bytes(encoded.tobytes())
    return path


def write_pair(root: Path, split: str, stem: str, image: np.ndarray, mask: np.ndarray,
               ext: str = ".png", mask_ext: str = ".png") -> tuple[Path, Path]:
    """ROOT/split/image/STEM.ext and ROOT/split/seg/STEM.mask_ext."""
    return (write_file(root / split / "image" / f"{stem}{ext}", image),
            write_file(root / split / "seg" / f"{stem}{mask_ext}", mask))


def random_image(rng: np.random.Generator, height: int = 24, width: int = 32) -> np.ndarray:
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def striped_mask(height: int = 24, width: int = 32, ids=(0, 1, 4, 6, 7)) -> np.ndarray:
    """Vertical stripes of the given source ids."""
    columns = np.array(ids, dtype=np.uint8)[np.arange(width) * len(ids) // width]
    return np.broadcast_to(columns, (height, width)).copy()


def make_dataset_folder(root: Path, subjects: int = 10, frames: int = 3, seed: int = 0,
                        size: tuple[int, int] = (24, 32)) -> Path:
    """`subjects` x `frames` clean pairs, stems SUBJECT_FRAME, subjects spread over train/val."""
    rng = np.random.default_rng(seed)
    for s in range(subjects):
        folder = "val" if s % 4 == 3 else "train"
        for f in range(frames):
            write_pair(root, folder, f"s{s:02d}_{f}", random_image(rng, *size),
                       striped_mask(*size))
    return root
