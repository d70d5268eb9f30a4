"""Convert public face-parsing datasets to facelib's reference layout.

`facelib convert FORMAT SRC OUT` writes `OUT/{train,val}/{image,seg}/STEM.{jpg,png}`: photos
as JPEG and masks as single-channel uint8 PNG label maps of the reference's source ids
(`facelib.core.scheme.SOURCE_NAMES`). Stems are `SUBJECT_FRAME`; facelib's grouped split keeps
the pairs of a subject (the part before the first underscore) in one split.

Every format behaves the same way: a progress bar, pairs converted in parallel threads, each
file written atomically (temporary file, then rename), and a re-run into the same OUT skips
the pairs whose photo and mask are both there, so an interrupted conversion resumes. A source
file that cannot be read, or does not fit its pair, is reported by path and its pair left
out; the problems are printed, listed in `OUT/convert_problems.txt`, and make the exit code 1.
`OUT/conversion.json` records what was converted, and how; converting another dataset, or
the same one another way, into that OUT is refused.

CelebAMask-HQ (`SRC/CelebA-HQ-img/ID.jpg`, 1024x1024 photos;
`SRC/CelebAMask-HQ-mask-anno/FOLDER/ID05_PART.png`, 512x512 binary masks, one per part present)

| part | source id | part | source id |
| --- | --- | --- | --- |
| skin | 1 face skin | hair | 10 hair |
| l_brow, r_brow | 2, 3 left, right eyebrow | l_ear, r_ear | 13, 14 left, right ear |
| l_eye, r_eye | 4, 5 left, right eye | hat | 15 head covering |
| nose | 6 nose | eye_g (eyeglasses) | 16 glasses |
| l_lip | 7 lower lip | neck, cloth | 0 background |
| mouth (inside the lips) | 8 mouth interior | neck_l (necklace) | 0 background |
| u_lip | 9 upper lip | ear_r (earring) | 0 background |

- Earrings are background: the reference has no earring class, a mask file does not say which
  ear it hangs from, and most of an earring hangs below the ear, not on it. They are painted
  before the ears, so a stud drawn over an ear stays ear.
- Parts are painted in this order, each over the ones before: skin; neck, cloth, necklace and
  earrings (clearing skin that spills past the jaw or under jewellery); ears, nose, eyes,
  eyebrows, upper and lower lip, mouth; hair (a fringe covers the forehead and brows); glasses;
  hat. The dataset's own `g_mask.py` paints in file-list order, ending with neck and cloth,
  which would let a collar erase a chin or hair.
- `l_`/`r_`: the dataset does not say whether left means the person's or the image's left,
  and the reference's convention is unknown too. They are mapped as named (`l_eye` -> 4 left
  eye). The default class scheme merges left and right, so this matters only to schemes that
  keep them apart.
- Size: a mask is written at its own size (512x512) and the photo is resized to it (area
  interpolation): the labels hold no detail beyond 512 pixels, facelib trains at 256, and
  upscaled masks would be four times larger for nothing. A photo already at the mask's size
  is copied byte for byte; resized photos are saved as JPEG quality 95.
- Splits: with `SRC/list_eval_partition.txt` (CelebA's official split, by identity) and
  `SRC/CelebA-HQ-to-CelebA-mapping.txt`, CelebA train goes to `train/` and CelebA val and
  test to `val/` (facelib's `folders` split mode uses val as the test split; `grouped` pools
  both folders and splits by subject). Without them everything goes to `train/`, and
  facelib's grouped split carves val and test.
- Stems: with `SRC/identity_CelebA.txt` and the mapping, `IDENTITY_ID05` (e.g. `2880_00000`),
  so photos of one celebrity share a subject; without them `ID05_0`, each photo its own
  subject.

FASSEG (`SRC/V2`, `SRC/V3`; colour label images): see `facelib.data.fasseg`.

LaPa (`SRC/{train,val,test}/images/NAME.jpg`, `SRC/{train,val,test}/labels/NAME.png`)

- LaPa's label ids 0..10 (background, skin, left/right eyebrow, left/right eye, nose, upper
  lip, inner mouth, lower lip, hair) are written as they are: they are the reference's ids
  0..10, except that LaPa's 7 is the upper and 9 the lower lip where the reference's names
  say the opposite; those names are themselves uncertain, and the default scheme merges 7, 8
  and 9 into mouth. Which side LaPa calls left is not documented either.
- Splits: train goes to `train/`, val and test to `val/` (the reference layout has no test
  folder; facelib's `folders` mode then validates and tests on LaPa's val and test).
- Stems: LaPa's file names (e.g. `10405424_1`), whose part before the first underscore
  facelib reads as the subject; it seems to number the source photo, so faces cut from one
  photo stay together. A name already taken by an earlier split (train, val, test) gets
  `_val` or `_test` appended.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from facelib.core.errors import UsageError
from facelib.core.io import atomic_path, write_json, write_text
from facelib.data import fasseg
from facelib.data.convert_io import (
    SourceProblem,
    decode_file,
    encode_jpeg,
    read_image,
    size_text,
)

FORMATS = ("celebamask-hq", "lapa", "fasseg")
FOLDERS = ("train", "val")
PROBLEMS_FILE = "convert_problems.txt"
RECORD_FILE = "conversion.json"

# CelebAMask-HQ part -> source id, in painting order (later parts cover earlier ones).
CELEBAMASK_PAINT_ORDER = (
    ("skin", 1),
    ("neck", 0), ("cloth", 0), ("neck_l", 0), ("ear_r", 0),
    ("l_ear", 13), ("r_ear", 14),
    ("nose", 6),
    ("l_eye", 4), ("r_eye", 5),
    ("l_brow", 2), ("r_brow", 3),
    ("u_lip", 9), ("l_lip", 7), ("mouth", 8),
    ("hair", 10),
    ("eye_g", 16),
    ("hat", 15),
)
CELEBAMASK_PARTS = dict(CELEBAMASK_PAINT_ORDER)
CELEBA_PARTITION_FOLDER = {0: "train", 1: "val", 2: "val"}  # CelebA train / val / test

LAPA_SPLIT_FOLDER = {"train": "train", "val": "val", "test": "val"}
LAPA_N_IDS = 11
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")





@dataclass(frozen=True)
class CelebAMaskJob:
    """One CelebAMask-HQ photo and its part masks, as (source id, file) in painting order."""

    folder: str
    stem: str
    image: Path
    parts: tuple[tuple[int, Path], ...]

    def render(self) -> tuple[bytes, np.ndarray]:
        mask = None
        for source_id, path in self.parts:
            part = decode_file(path, cv2.IMREAD_GRAYSCALE)
            if mask is None:
                mask = np.zeros(part.shape, np.uint8)
            elif part.shape != mask.shape:
                raise SourceProblem(path, f"is {size_text(part)}, the other parts of this photo "
                                          f"are {size_text(mask)}")
            mask[part != 0] = source_id
        data, image = read_image(self.image)
        height, width = mask.shape
        if image.shape[:2] != mask.shape:
            if abs(image.shape[1] * height - image.shape[0] * width) > 0.01 * width * height:
                raise SourceProblem(self.image, f"is {size_text(image)}, its masks are "
                                                f"{size_text(mask)}: the shapes differ")
            shrink = image.shape[0] > height
            image = cv2.resize(image, (width, height),
                               interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            data = None
        return data if data is not None else encode_jpeg(image), mask


@dataclass(frozen=True)
class LapaJob:
    """One LaPa photo and its label map."""

    folder: str
    stem: str
    image: Path
    label: Path

    def render(self) -> tuple[bytes, np.ndarray]:
        label = decode_file(self.label, cv2.IMREAD_UNCHANGED)
        if label.ndim == 3:
            if not (label == label[..., :1]).all():
                raise SourceProblem(self.label, "is a colour image, expected a label map")
            label = label[..., 0]
        if label.dtype != np.uint8:
            raise SourceProblem(self.label, f"holds {label.dtype} values, expected uint8")
        bad = sorted(set(np.unique(label).tolist()) - set(range(LAPA_N_IDS)))
        if bad:
            raise SourceProblem(self.label, f"holds ids {bad}; LaPa's are 0..{LAPA_N_IDS - 1}")
        data, image = read_image(self.image)
        if image.shape[:2] != label.shape:
            raise SourceProblem(self.label, f"is {size_text(label)}, its photo is "
                                            f"{size_text(image)}")
        return (data if data is not None else encode_jpeg(image)), label


@dataclass
class ConversionResult:
    """What a conversion did: pairs written now and already there, problems by path, and how
    splits and subjects were decided."""

    format: str
    out: Path
    how: dict
    written: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        counts = {folder: _count_pairs(self.out / folder) for folder in FOLDERS}
        return (f"{self.format}: {self.written} pairs written, {self.skipped} already there, "
                f"{len(self.problems)} problem(s); {self.out} holds "
                f"{counts['train']} train + {counts['val']} val pairs")


def _count_pairs(folder: Path) -> int:
    seg = folder / "seg"
    if not seg.is_dir():
        return 0
    return sum(1 for p in seg.iterdir()
               if p.suffix == ".png" and not p.name.startswith(".")
               and (folder / "image" / f"{p.stem}.jpg").exists())


def _read_map(path: Path, key, value) -> dict[int, int] | None:
    """`{key(fields): value(fields)}` over the rows of a whitespace-separated table (header
    and blank lines skipped); None if the file is absent; UsageError naming a bad line."""
    if not path.is_file():
        return None
    table = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields or not fields[0].split(".")[0].isdigit():
                continue  # a header or a blank line
            try:
                table[key(fields)] = value(fields)
            except (IndexError, ValueError):
                raise UsageError(f"{path}, line {number}: cannot read {line.strip()!r}") from None
    return table


def _celeba_number(name: str) -> int:
    """`000123.jpg` -> 123 (CelebA file names)."""
    return int(Path(name).stem)


def plan_celebamask_hq(src: Path) -> tuple[list[CelebAMaskJob], list[str], dict]:
    """Jobs, planning problems, and how splits and subjects were decided."""
    image_dir, anno_dir = src / "CelebA-HQ-img", src / "CelebAMask-HQ-mask-anno"
    if not image_dir.is_dir() or not anno_dir.is_dir():
        raise UsageError(f"{src}: not a CelebAMask-HQ folder; expected {image_dir}/ID.jpg "
                         f"and {anno_dir}/FOLDER/ID05_PART.png")
    problems = []
    images = {}
    for path in image_dir.iterdir():
        if path.suffix.lower() in IMAGE_SUFFIXES and path.stem.isdigit():
            images[int(path.stem)] = path
    parts: dict[int, dict[str, Path]] = {}
    for folder in sorted(p for p in anno_dir.iterdir() if p.is_dir()):
        for path in folder.iterdir():
            number, _, part = path.stem.partition("_")
            if path.suffix.lower() != ".png" or not number.isdigit():
                continue
            if part not in CELEBAMASK_PARTS:
                problems.append(f"{path}: unknown part {part!r}; ignored")
                continue
            parts.setdefault(int(number), {})[part] = path

    to_celeba = _read_map(src / "CelebA-HQ-to-CelebA-mapping.txt",
                          lambda f: int(f[0]), lambda f: _celeba_number(f[2]))
    partition = identity = None
    if to_celeba is not None:
        partition = _read_map(src / "list_eval_partition.txt",
                              lambda f: _celeba_number(f[0]), lambda f: int(f[1]))
        identity = _read_map(src / "identity_CelebA.txt",
                             lambda f: _celeba_number(f[0]), lambda f: int(f[1]))
    how = {
        "splits": "CelebA partition: train -> train, val + test -> val"
        if partition is not None else "all in train",
        "subjects": "CelebA identity" if identity is not None else "each photo its own subject",
    }
    unused = [name for name in ("list_eval_partition.txt", "identity_CelebA.txt")
              if to_celeba is None and (src / name).is_file()]
    if unused:
        how["ignored"] = f"{' and '.join(unused)} (without CelebA-HQ-to-CelebA-mapping.txt)"

    jobs = []
    for number in sorted(images.keys() | parts.keys()):
        if number not in images:
            some_part = next(iter(parts[number].values()))
            problems.append(f"{some_part}: no photo {image_dir}/{number}.jpg; left out")
            continue
        if number not in parts:
            problems.append(f"{images[number]}: no part masks in {anno_dir}; left out")
            continue
        celeba = to_celeba.get(number) if to_celeba is not None else None
        if (partition is not None or identity is not None) and celeba is None:
            problems.append(f"{images[number]}: not in CelebA-HQ-to-CelebA-mapping.txt; "
                            "left out")
            continue
        folder = "train"
        if partition is not None:
            if partition.get(celeba) not in CELEBA_PARTITION_FOLDER:
                problems.append(f"{images[number]}: CelebA image {celeba} has no partition "
                                "0, 1 or 2 in list_eval_partition.txt; left out")
                continue
            folder = CELEBA_PARTITION_FOLDER[partition[celeba]]
        if identity is not None:
            if celeba not in identity:
                problems.append(f"{images[number]}: CelebA image {celeba} is not in "
                                "identity_CelebA.txt; left out")
                continue
            stem = f"{identity[celeba]}_{number:05d}"
        else:
            stem = f"{number:05d}_0"
        ordered = tuple((source_id, parts[number][part])
                        for part, source_id in CELEBAMASK_PAINT_ORDER if part in parts[number])
        jobs.append(CelebAMaskJob(folder, stem, images[number], ordered))
    return jobs, problems, how


def plan_lapa(src: Path) -> tuple[list[LapaJob], list[str], dict]:
    """Jobs, planning problems, and how splits and subjects were decided."""
    splits = [s for s in LAPA_SPLIT_FOLDER
              if (src / s / "images").is_dir() and (src / s / "labels").is_dir()]
    if not splits:
        raise UsageError(f"{src}: not a LaPa folder; expected {src}/{{train,val,test}}/images/"
                         "NAME.jpg and .../labels/NAME.png")
    problems, jobs, taken = [], [], set()
    for split in splits:
        images = {p.stem: p for p in (src / split / "images").iterdir()
                  if p.suffix.lower() in IMAGE_SUFFIXES}
        labels = {p.stem: p for p in (src / split / "labels").iterdir()
                  if p.suffix.lower() == ".png"}
        for name in sorted(images.keys() | labels.keys()):
            if name not in labels:
                problems.append(f"{images[name]}: no label map {split}/labels/{name}.png; "
                                "left out")
                continue
            if name not in images:
                problems.append(f"{labels[name]}: no photo in {split}/images/; left out")
                continue
            stem = name if name not in taken else f"{name}_{split}"
            taken.add(stem)
            jobs.append(LapaJob(LAPA_SPLIT_FOLDER[split], stem, images[name], labels[name]))
    how = {"splits": "train -> train, val + test -> val", "subjects": "LaPa file names",
           "source splits": splits}
    return jobs, problems, how


def plan_fasseg(src: Path):
    """FASSEG: see `facelib.data.fasseg`."""
    return fasseg.plan(src)


def finish_fasseg(jobs) -> dict:
    return fasseg.finish(jobs)


PLANNERS = {"celebamask-hq": plan_celebamask_hq, "lapa": plan_lapa, "fasseg": plan_fasseg}
# Formats whose record gets more once every pair is there: format -> (jobs -> dict).
FINISHERS = {"fasseg": finish_fasseg}


def _convert_one(job, out: Path) -> bool:
    """Write one pair; False if both files were already there."""
    image_path = out / job.folder / "image" / f"{job.stem}.jpg"
    mask_path = out / job.folder / "seg" / f"{job.stem}.png"
    if image_path.exists() and mask_path.exists():
        return False
    data, mask = job.render()
    with atomic_path(image_path) as tmp:
        tmp.write_bytes(data)
    with atomic_path(mask_path) as tmp:
        tmp.write_bytes(cv2.imencode(".png", mask)[1].tobytes())
    return True


def _prepare_out(out: Path, record: dict) -> None:
    """Check that OUT is new, empty or an earlier run of the same conversion; clear leftovers."""
    record_path = out / RECORD_FILE
    if record_path.is_file():
        earlier = json.loads(record_path.read_text())
        keys = ("format", "source", "splits", "subjects")
        if any(earlier.get(k) != record.get(k) for k in keys):
            shown = ", ".join(f"{k} {earlier.get(k)!r}" for k in keys)
            raise UsageError(f"{out}: already holds a conversion ({shown}); choose a new folder")
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out}: exists and was not written by facelib convert; "
                         "choose a new folder")
    for folder in FOLDERS:
        for kind in ("image", "seg"):
            target = out / folder / kind
            target.mkdir(parents=True, exist_ok=True)
            for leftover in target.glob(".*.tmp.*"):
                leftover.unlink(missing_ok=True)
    write_json(record_path, record)


def convert(format: str, src, out, workers: int | None = None,
            progress: bool | None = None) -> ConversionResult:
    """Convert SRC (in `format`, one of FORMATS) into the reference layout under OUT.

    `workers`: threads (None: one per core); `progress`: tqdm bar (None: when stderr is a
    terminal). Re-running into the same OUT skips finished pairs.
    """
    if format not in PLANNERS:
        raise UsageError(f"unknown format {format!r}; one of {', '.join(FORMATS)}")
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise UsageError(f"{src}: no such folder")
    jobs, problems, how = PLANNERS[format](src)
    record = {"format": format, "source": str(src.resolve()), **how, "pairs": len(jobs)}
    _prepare_out(out, record)
    result = ConversionResult(format, out, how, problems=problems)
    show = sys.stderr.isatty() if progress is None else progress
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    outcomes: Counter = Counter()
    with (tqdm(total=len(jobs), desc=f"convert {format}", unit="pair", disable=not show) as bar,
          ThreadPoolExecutor(workers) as pool):
        futures = [pool.submit(_convert_one, job, out) for job in jobs]
        try:
            for future in as_completed(futures):
                try:
                    outcomes[future.result()] += 1
                except SourceProblem as e:
                    problems.append(f"{e}; left out")
                bar.update()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    result.written, result.skipped = outcomes[True], outcomes[False]
    if format in FINISHERS:
        extra = FINISHERS[format](jobs)
        how.update(extra)
        write_json(out / RECORD_FILE, record | extra)
    problems_path = out / PROBLEMS_FILE
    if problems:
        write_text(problems_path, "\n".join(sorted(problems)) + "\n")
    else:
        problems_path.unlink(missing_ok=True)
    return result
