"""Finding image/mask pairs in the reference layout, and splitting them into train/val/test.

Layout: `ROOT/{train,val}/{image,seg}/STEM.ext`; an image and its mask share a stem, and
`.jpg`, `.jpeg` and `.png` are accepted in any letter case. Masks are label maps of source
ids (see `facelib.core.scheme`): one 8-bit channel, or a palette PNG whose indices are the
ids (as VOC-style annotation tools write them; read with Pillow, as OpenCV would expand the
colours). No TensorFlow here, so the CLI stays fast.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError
from sklearn.model_selection import GroupShuffleSplit

from facelib.core.errors import FacelibError

FOLDERS = ("train", "val")
IMAGE_FOLDER, MASK_FOLDER = "image", "seg"
EXIF_ORIENTATION = 0x0112  # 1: as stored; 2-8: mirrored and/or rotated (5-8 swap the sides)
EXTENSIONS = (".jpg", ".jpeg", ".png")
SPLITS = ("train", "val", "test")
LAYOUT = "ROOT/{train,val}/{image,seg}/STEM.{jpg,jpeg,png}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_PALETTE = 3  # the IHDR colour type of an indexed-colour PNG
CONVERT_HINT = ("convert it to one channel of class ids: `facelib convert` for the datasets it "
                "knows")


class DatasetError(FacelibError, ValueError):
    """A dataset facelib cannot use; the message names the file or folder and says why."""


@dataclass(frozen=True)
class Pair:
    """An image and its mask."""

    stem: str
    subject: str
    folder: str
    image: Path
    mask: Path

    @property
    def location(self) -> Path:
        """The file a reader opens for it (its photo)."""
        return self.image

    def split_row(self) -> dict:
        return {"stem": self.stem, "subject": self.subject, "folder": self.folder,
                "image": str(self.image), "mask": str(self.mask)}


@dataclass(frozen=True)
class ShardPair:
    """A pair stored in a TFRecord shard file (`facelib shards`)."""

    stem: str
    subject: str
    folder: str
    shard: Path

    @property
    def location(self) -> Path:
        """The file a reader opens for it (its shard)."""
        return self.shard

    def split_row(self) -> dict:
        return {"stem": self.stem, "subject": self.subject, "folder": self.folder,
                "shard": str(self.shard)}


@dataclass
class Listing:
    """The files of one image/ or seg/ folder."""

    by_stem: dict[str, Path] = field(default_factory=dict)
    unsupported: list[Path] = field(default_factory=list)
    ambiguous: list[Path] = field(default_factory=list)  # one stem, several files


def subject_of(stem: str) -> str:
    """The stem's part before the first underscore (the whole stem if none)."""
    return stem.split("_", 1)[0]


def list_folder(folder: Path) -> Listing:
    """Supported files of `folder` by stem; hidden files are ignored, a missing folder is empty."""
    listing = Listing()
    if not folder.is_dir():
        return listing
    by_stem: dict[str, list[Path]] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            path = Path(entry.path)
            if path.suffix.lower() in EXTENSIONS:
                by_stem.setdefault(path.stem, []).append(path)
            else:
                listing.unsupported.append(path)
    for stem, paths in sorted(by_stem.items()):
        if len(paths) == 1:
            listing.by_stem[stem] = paths[0]
        else:
            listing.ambiguous += sorted(paths)
    listing.unsupported.sort()
    return listing


def dataset_folders(root: str | Path) -> list[str]:
    """The split folders (train, val) present under `root`; raises DatasetError if none."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    present = [name for name in FOLDERS if (root / name).is_dir()]
    if not present:
        raise DatasetError(f"{root}: no train/ or val/ folder; expected the layout {LAYOUT}")
    return present


def find_pairs(root: str | Path) -> list[Pair]:
    """Every complete image/mask pair under `root`, sorted by (folder, stem).

    Incomplete pairs and ambiguous stems are left out; `validate_dataset` reports them.
    """
    root = Path(root)
    pairs = []
    for folder in dataset_folders(root):
        images = list_folder(root / folder / IMAGE_FOLDER).by_stem
        masks = list_folder(root / folder / MASK_FOLDER).by_stem
        pairs += [Pair(stem, subject_of(stem), folder, images[stem], masks[stem])
                  for stem in sorted(images.keys() & masks.keys())]
    return pairs


def split_pairs(pairs: list[Pair], split: dict) -> dict[str, list[Pair]]:
    """Train/val/test lists (each sorted by stem) as `split` (`params["data"]["split"]`) says.

    `grouped`: pool every pair, carve `test_fraction` of the groups as test, then
    `val_fraction` of the remaining groups as validation, with scikit-learn's
    GroupShuffleSplit seeded by `split["seed"]`. Groups are subjects (`group_by: subject`),
    so no subject is in two splits, or single pairs (`group_by: none`). The fractions count
    groups, so the pair fractions are approximate.

    `folders`: train is the train/ folder and val the val/ folder, as given; the test split
    is then the validation split (the same pairs). The reference swapped its val and test
    folders; here they are never swapped.
    """
    pairs = sorted(pairs, key=lambda p: (p.folder, p.stem))
    if split["mode"] == "folders":
        val = [p for p in pairs if p.folder == "val"]
        splits = {"train": [p for p in pairs if p.folder == "train"], "val": val, "test": val}
    else:
        splits = _grouped_split(pairs, split)
    splits = {name: sorted(members, key=lambda p: p.stem) for name, members in splits.items()}
    for name in SPLITS:
        if not splits[name]:
            raise DatasetError(
                f"the {name} split would be empty (split mode {split['mode']}, "
                f"{len(pairs)} pairs, {len({p.subject for p in pairs})} subjects)"
            )
    return splits


def _groups(pairs: list[Pair], group_by: str) -> np.ndarray:
    return np.array([p.subject if group_by == "subject" else f"{p.folder}/{p.stem}"
                     for p in pairs])


def _grouped_split(pairs: list[Pair], split: dict) -> dict[str, list[Pair]]:
    groups = _groups(pairs, split["group_by"])
    if len(set(groups)) < 3:
        raise DatasetError(
            f"a grouped split needs at least 3 groups, got {len(set(groups))} "
            f"({len(pairs)} pairs, group_by: {split['group_by']})"
        )
    rest, test = _carve(groups, split["test_fraction"], split["seed"])
    train, val = _carve(groups[rest], split["val_fraction"], split["seed"])
    return {
        "train": [pairs[i] for i in rest[train]],
        "val": [pairs[i] for i in rest[val]],
        "test": [pairs[i] for i in test],
    }


def _carve(groups: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, carved) with about `fraction` of the groups carved out."""

    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    try:
        kept, carved = next(splitter.split(groups, groups=groups))
    except ValueError as e:
        raise DatasetError(f"cannot split {len(set(groups))} groups: {e}") from None
    return kept, carved


def split_summary(splits: dict[str, list[Pair]]):
    """pandas DataFrame: pairs and subjects per split (rows train, val, test)."""

    rows = {name: {"pairs": len(members), "subjects": len({p.subject for p in members})}
            for name, members in splits.items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("split")


def subjects_overlap(splits: dict[str, list[Pair]]) -> set[str]:
    """Subjects found in more than one split (should be empty).

    A split that is the same list as another (test in `folders` mode) is not compared.
    """
    distinct = []
    for members in splits.values():
        if all(members != other for other in distinct):
            distinct.append(members)
    seen: set[str] = set()
    overlap: set[str] = set()
    for members in distinct:
        subjects = {p.subject for p in members}
        overlap |= seen & subjects
        seen |= subjects
    return overlap


def read_file(path: str | Path) -> bytes:
    """The bytes of `path`; DatasetError if it cannot be read or is empty."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e.strerror or e})") from None
    if not data:
        raise DatasetError(f"{path}: empty file (0 bytes)")
    return data


def decode(path: str | Path, data: bytes, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """OpenCV decode (by default channels and bit depth as stored); DatasetError if unreadable."""
    try:
        array = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error:
        array = None
    if array is None or array.size == 0:
        raise DatasetError(f"{path}: not a readable image")
    return array


def is_palette_png(data: bytes) -> bool:
    """Whether `data` is a PNG of indexed colours (IHDR colour type 3)."""
    return (data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR" and len(data) > 25
            and data[25] == PNG_PALETTE)


def decode_mask(path: str | Path, data: bytes) -> np.ndarray:
    """A mask file's bytes as stored: a palette PNG as its (H, W) uint8 indices, any other
    image as OpenCV decodes it (channels and bit depth as stored); DatasetError if unreadable."""
    if not is_palette_png(data):
        return decode(path, data)
    try:
        with Image.open(io.BytesIO(data)) as image:
            indices = np.array(image)
    except (OSError, ValueError, SyntaxError) as e:
        raise DatasetError(f"{path}: not a readable image ({e})") from None
    if indices.ndim != 2 or indices.dtype != np.uint8 or indices.size == 0:
        raise DatasetError(f"{path}: not a readable palette image")
    return indices


def as_label_map(path: str | Path, mask: np.ndarray) -> np.ndarray:
    """A decoded mask as one uint8 channel; DatasetError if it is not a label map."""
    if mask.dtype != np.uint8:
        raise DatasetError(f"{path}: mask is {mask.dtype}, label maps must be 8-bit")
    if mask.ndim == 3:
        colour = mask[..., :3]
        if not (np.array_equal(colour[..., 0], colour[..., 1])
                and np.array_equal(colour[..., 0], colour[..., 2])):
            raise DatasetError(
                f"{path}: mask has {colour.shape[-1]} different channels (a colour-coded "
                f"mask, not a label map); {CONVERT_HINT}"
            )
        mask = mask[..., 0]
    return mask


def load_label_map(path: str | Path, size: int | tuple[int, int] | None = None) -> np.ndarray:
    """A mask as an (H, W) uint8 map of source ids, resized (nearest) to `size` if given.

    `size` is S for S x S, or (height, width). A palette PNG gives its indices.
    """
    labels = as_label_map(path, decode_mask(path, read_file(path)))
    if size is not None:
        height, width = (size, size) if isinstance(size, int) else size
        labels = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
    return labels


def load_image(path: str | Path) -> np.ndarray:
    """A photo as (H, W, 3) uint8 RGB, as it is shown: its EXIF orientation applied (OpenCV
    does that for IMREAD_COLOR, as `orient` does); grayscale becomes 3 channels."""
    image = decode(path, read_file(path), cv2.IMREAD_COLOR)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation (1-8) of an encoded photo; 1 when it has none or is unreadable."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            value = image.getexif().get(EXIF_ORIENTATION, 1)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return 1
    return int(value) if value in range(1, 9) else 1


def orient(image: np.ndarray, orientation: int) -> np.ndarray:
    """A photo as stored -> as shown, by its EXIF `orientation`."""
    if orientation in (5, 7):  # transposed, then 7 also turned by 180 degrees
        image = np.swapaxes(image, 0, 1)
    turns = {3: 2, 6: 3, 7: 2, 8: 1}.get(orientation, 0)  # quarter turns anticlockwise
    image = np.rot90(image, turns)
    if orientation in (2, 4):
        image = image[:, ::-1] if orientation == 2 else image[::-1]
    return np.ascontiguousarray(image)


def shown_size(shape: tuple, orientation: int) -> tuple[int, int]:
    """(height, width) of a photo of stored `shape` once its orientation is applied."""
    height, width = shape[:2]
    return (width, height) if orientation in (5, 6, 7, 8) else (height, width)
