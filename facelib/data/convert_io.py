"""Reading and writing the files of a conversion: shared by every converter."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

JPEG_QUALITY = 95


class SourceProblem(Exception):
    """A source file that cannot be converted; the pair is left out."""

    def __init__(self, path: Path, message: str):
        super().__init__(f"{path}: {message}")


def size_text(array: np.ndarray) -> str:
    return f"{array.shape[1]}x{array.shape[0]}"


def decode_file(path: Path, flags: int) -> np.ndarray:
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise SourceProblem(path, f"cannot be read ({e.strerror})") from None
    image = cv2.imdecode(data, flags) if data.size else None
    if image is None:
        raise SourceProblem(path, "is not a readable image")
    return image


def read_image(path: Path) -> tuple[bytes | None, np.ndarray]:
    """(the file's bytes if they can be copied as the output JPEG, else None; BGR image)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SourceProblem(path, f"cannot be read ({e.strerror})") from None
    # IMREAD_UNCHANGED ignores EXIF orientation, as TensorFlow's decoders do.
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise SourceProblem(path, "is not a readable image")
    copyable = data[:2] == b"\xff\xd8" and image.ndim == 3 and image.shape[2] == 3
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise SourceProblem(path, f"holds {image.dtype} pixels, expected 8 or 16 bits")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return (data if copyable else None), image


def encode_jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()
