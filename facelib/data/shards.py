"""Resized, validated TFRecord shards of a reference-layout dataset, and reading them back.

`facelib shards DATA_DIR OUT --size 256` validates DATA_DIR (`validate_dataset`), leaves out
and lists the pairs with problems, resizes the others to SIZE x SIZE and writes them as
`tf.train.Example`s into `OUT/{FOLDER}-{i:05d}-of-{n:05d}.tfrecord`, FOLDER being the pair's
folder (train or val). Shards let `tf.data` spread a large dataset over machines: auto-sharding
by file gives each worker whole files (`train.strategy: multiworker`, see `read_pairs`), so
the pairs are shuffled (fixed seed) before being cut into shards and every shard holds a mix
of subjects. `data.source: shards` trains from them (`facelib.data.sources`).

| feature | type | content |
| --- | --- | --- |
| stem, subject, folder | bytes | as `find_pairs` reports them |
| image | bytes | PNG, RGB, SIZE x SIZE, resized with `image_resize` (area by default) |
| mask | bytes | PNG, one channel, source ids, SIZE x SIZE, nearest neighbour |
| height, width | int64 | SIZE |

Photos and masks are decoded and resized with the very TensorFlow ops of the folder input
pipeline (`facelib.data.pipeline`), and photos are stored as PNG, which is lossless: training
from shards at `data.image_size` = SIZE sees exactly the pixels training from the folder
sees, at about three times the bytes of JPEG quality 95. Like the pipeline, photos and masks
are squeezed to a square and EXIF orientation is ignored.

`OUT/shards.json` (the manifest) holds the size, the source folder, the counts per folder, the
pairs left out with their problems, and every shard's file, folder and examples (stem,
subject), so splits can be computed without reading a shard. It is written first, with
`"complete": false`; shards are written whole to a temporary file and renamed; a re-run with
the same plan skips the shards already there, and the manifest is marked complete at the end.
Readers refuse an incomplete folder.
"""

from __future__ import annotations

import json
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf
from tqdm.auto import tqdm

from facelib.core.errors import UsageError
from facelib.core.io import atomic_path, write_json
from facelib.data.discover import DatasetError, ShardPair, find_pairs
from facelib.data.mask_decoding import decode_mask
from facelib.data.validate import (
    Problem,
    ValidationReport,
    class_fractions,
    fractions_table,
    validate_dataset,
)

MANIFEST = "shards.json"
IMAGE_RESIZE = ("area", "bilinear")
FORMAT_VERSION = 1
SHUFFLE_SEED = 0
EXAMPLES_PER_SHARD_AT_256 = 500  # about 60 MB of PNG photos; scaled by area for other sizes


def default_examples_per_shard(size: int) -> int:
    return max(1, min(4000, round(EXAMPLES_PER_SHARD_AT_256 * (256 / size) ** 2)))


def shard_name(folder: str, index: int, count: int) -> str:
    return f"{folder}-{index:05d}-of-{count:05d}.tfrecord"


def plan_shards(pairs, examples_per_shard: int) -> list[dict]:
    """Shards of each folder: `{"file", "folder", "examples": [[stem, subject], ...]}`.

    Pairs are sorted by stem, then shuffled with a fixed seed, so the plan depends only on the
    pairs and the shard size.
    """
    shards = []
    for folder in sorted({p.folder for p in pairs}):
        members = sorted((p for p in pairs if p.folder == folder), key=lambda p: p.stem)
        random.Random(SHUFFLE_SEED).shuffle(members)
        count = math.ceil(len(members) / examples_per_shard)
        for index in range(count):
            chunk = members[index * examples_per_shard:(index + 1) * examples_per_shard]
            shards.append({"file": shard_name(folder, index, count), "folder": folder,
                           "examples": [[p.stem, p.subject] for p in chunk]})
    return shards


def resized_pngs_function(size: int, image_resize: str):
    """(image path, mask path) -> PNG bytes of the resized photo (RGB) and mask (source ids).

    The same TensorFlow decoding and resizing as the folder input pipeline
    (`facelib.data.pipeline.load_pair_function`), before its remap to training ids.
    """

    def resized_pngs(image_path, mask_path):
        image = tf.io.decode_image(tf.io.read_file(image_path), channels=3,
                                   expand_animations=False)
        image = tf.image.resize(image, (size, size), method=image_resize)
        image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
        mask = decode_mask(tf.io.read_file(mask_path))  # a palette PNG: its indices
        mask = tf.image.resize(mask[..., :1], (size, size), method="nearest")
        return tf.io.encode_png(image), tf.io.encode_png(tf.cast(mask, tf.uint8))

    return resized_pngs


def _bytes_feature(value: bytes):

    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int_feature(value: int):

    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def encode_example(pair, image_png: bytes, mask_png: bytes, size: int) -> bytes:
    """One pair as a serialized `tf.train.Example` (see the module's table)."""

    features = {
        "stem": _bytes_feature(pair.stem.encode()),
        "subject": _bytes_feature(pair.subject.encode()),
        "folder": _bytes_feature(pair.folder.encode()),
        "image": _bytes_feature(image_png),
        "mask": _bytes_feature(mask_png),
        "height": _int_feature(size),
        "width": _int_feature(size),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def _write_shard(path: Path, pairs, size: int, image_resize: str, workers: int | None,
                 bar) -> None:

    paths = tf.data.Dataset.from_tensor_slices(([str(p.image) for p in pairs],
                                                [str(p.mask) for p in pairs]))
    pngs = paths.map(resized_pngs_function(size, image_resize),
                     num_parallel_calls=workers or tf.data.AUTOTUNE, deterministic=True)
    written = 0
    with atomic_path(path) as tmp, tf.io.TFRecordWriter(str(tmp)) as writer:
        try:
            for image_png, mask_png in pngs.prefetch(tf.data.AUTOTUNE).as_numpy_iterator():
                writer.write(encode_example(pairs[written], image_png, mask_png, size))
                written += 1
                bar.update()
        except tf.errors.OpError as e:  # validated with OpenCV, so rare: name the pair
            pair = pairs[written]
            raise UsageError(f"{pair.image} or {pair.mask}: TensorFlow cannot read it "
                             f"({e.message.splitlines()[0]})") from None


def _start_manifest(out: Path, manifest: dict) -> None:
    """Write the manifest of a new OUT, or check that OUT holds an earlier run of this plan."""
    path = out / MANIFEST
    if path.is_file():
        earlier = load_manifest(out, complete=False)
        if {**earlier, "complete": False} != {**manifest, "complete": False}:
            raise UsageError(f"{out}: holds shards of another dataset or size "
                             f"({earlier['source']}, size {earlier['size']}); choose a new "
                             "folder or delete it")
        if earlier["complete"]:
            return
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out}: exists and holds no {MANIFEST}; choose a new folder")
    else:
        out.mkdir(parents=True, exist_ok=True)
    for leftover in out.glob(".*.tmp.tfrecord"):
        leftover.unlink(missing_ok=True)
    write_json(path, manifest)


def write_shards(data_dir, out, size: int = 256, image_resize: str = "area",
                 examples_per_shard: int | None = None, workers: int | None = None,
                 progress: bool | None = None) -> ShardsResult:
    """`facelib shards`: validate DATA_DIR, write its good pairs as shards under OUT.

    The pairs that validation found problems with are left out, the others written.
    `image_resize`: area | bilinear, as `data.image_resize`; `examples_per_shard`: None
    scales 500 at 256 px by area; `workers`: validation threads and parallel tf.data calls
    (None: one thread per core, tf.data's choice); `progress`: tqdm bars (None: when stderr
    is a terminal).
    """

    data_dir, out = Path(data_dir), Path(out)
    if not data_dir.is_dir():
        raise UsageError(f"{data_dir}: no such folder")
    if size < 1:
        raise UsageError(f"--size {size}: must be a positive number of pixels")
    if image_resize not in IMAGE_RESIZE:
        raise UsageError(f"image_resize {image_resize!r}: one of {' | '.join(IMAGE_RESIZE)}")
    per_shard = examples_per_shard or default_examples_per_shard(size)
    show = sys.stderr.isatty() if progress is None else progress
    try:
        report = validate_dataset(data_dir, workers=workers, progress=show)
        bad = set(report.bad_stems())
        pairs = [p for p in find_pairs(data_dir) if p.stem not in bad]
    except DatasetError as e:
        raise UsageError(str(e)) from None
    if not pairs:
        raise UsageError(f"{data_dir}: no valid image/mask pairs to write")
    shards = plan_shards(pairs, per_shard)
    by_folder = {folder: sum(len(s["examples"]) for s in shards if s["folder"] == folder)
                 for folder in sorted({s["folder"] for s in shards})}
    manifest = {
        "version": FORMAT_VERSION, "complete": False, "source": str(data_dir.resolve()),
        "size": size, "image_resize": image_resize, "image_format": "png",
        "counts": by_folder,
        "left_out": sorted(bad), "problems": report.to_dict()["problems"],
        "shards": shards,
    }
    _start_manifest(out, manifest)
    todo = [s for s in shards if not (out / s["file"]).exists()]
    pair_of = {(p.folder, p.stem): p for p in pairs}
    with tqdm(total=sum(len(s["examples"]) for s in todo), desc="shards", unit="pair",
              disable=not show) as bar:
        for shard in todo:
            members = [pair_of[shard["folder"], stem] for stem, _ in shard["examples"]]
            _write_shard(out / shard["file"], members, size, image_resize, workers, bar)
    write_json(out / MANIFEST, {**manifest, "complete": True})
    return ShardsResult(out, size, len(shards), len(shards) - len(todo), by_folder,
                        sorted(bad), report)


@dataclass
class ShardsResult:
    """What `write_shards` wrote: shard counts, pairs per folder, the pairs left out and the
    validation report that left them out."""

    out: Path
    size: int
    n_shards: int
    already_there: int
    counts: dict[str, int]
    left_out: list[str]
    report: ValidationReport

    @property
    def ok(self) -> bool:
        return self.report.ok

    def summary(self) -> str:
        counts = ", ".join(f"{n} {folder}" for folder, n in self.counts.items())
        return (f"{self.n_shards} shards of {self.size}x{self.size} pairs in {self.out} "
                f"({counts}); {self.already_there} already there; {len(self.left_out)} "
                f"pair(s) left out, {len(self.report.problems)} problem(s)")


def load_manifest(shard_dir, complete: bool = True) -> dict:
    """The manifest of a shards folder; UsageError if missing, unreadable or (when
    `complete`) unfinished."""

    path = Path(shard_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: not found; is {shard_dir} a folder written by "
                         "`facelib shards`?") from None
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: unreadable ({e})") from None
    if manifest.get("version") != FORMAT_VERSION:
        raise UsageError(f"{path}: format version {manifest.get('version')!r}, facelib reads "
                         f"{FORMAT_VERSION}; write the shards again")
    if complete and not manifest["complete"]:
        raise UsageError(f"{path}: the shards are unfinished; run `facelib shards` again "
                         "to complete them")
    return manifest


def shard_records(shard_dir) -> list[dict]:
    """Every example as `{"stem", "subject", "folder", "file"}`, in shard order, from the
    manifest alone."""
    return [{"stem": stem, "subject": subject, "folder": shard["folder"], "file": shard["file"]}
            for shard in load_manifest(shard_dir)["shards"]
            for stem, subject in shard["examples"]]


def shard_pairs(shard_dir) -> list[ShardPair]:
    """Every example as a `ShardPair`, in manifest order, from the manifest alone:
    `split_pairs` splits them as it splits a folder's pairs."""
    shard_dir = Path(shard_dir)
    return [ShardPair(r["stem"], r["subject"], r["folder"], shard_dir / r["file"])
            for r in shard_records(shard_dir)]


def is_shard_folder(folder: Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


def _existing(files: list[Path]) -> list[Path]:
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UsageError(f"{missing[0]}: missing ({len(missing)} shard file(s) missing)")
    return files


def _files(shard_dir: Path, manifest: dict, folder: str | None) -> list[Path]:
    folders = sorted({s["folder"] for s in manifest["shards"]})
    if folder is not None and folder not in folders:
        raise UsageError(f"{shard_dir}: no shards of folder {folder!r}; it has "
                         f"{', '.join(folders)}")
    return _existing([shard_dir / s["file"] for s in manifest["shards"]
                      if folder is None or s["folder"] == folder])


def shard_files(shard_dir, folder: str | None = None) -> list[Path]:
    """The shard files (of one folder, or all) in manifest order, checked to exist."""
    return _files(Path(shard_dir), load_manifest(shard_dir), folder)


def read_shards(shard_dir, folder: str | None = None, stems=None):
    """A `tf.data.Dataset` of the examples of `shard_dir`, decoded.

    Elements are dicts: `image` uint8 (S, S, 3) RGB, `mask` uint8 (S, S) source ids, and
    `stem`, `subject`, `folder` (tf.string scalars). `folder` keeps one folder's shards;
    `stems` (an iterable of str) keeps only those examples, filtered before any decoding.
    The files are read one after the other in manifest order, so the order is fixed; the
    dataset is built on the file list, so FILE auto-sharding splits it by file.
    """
    shard_dir = Path(shard_dir)
    manifest = load_manifest(shard_dir)
    return _read(_files(shard_dir, manifest, folder), manifest["size"], stems,
                 lambda example: example["stem"])


def read_pairs(pairs, shard_hint: bool = False):
    """The examples of `pairs` (from `shard_pairs`, one shards folder), decoded as by
    `read_shards`.

    Only the files holding them are read, in manifest order. Examples are kept by folder
    and stem, so a stem in both folders is no trouble. `shard_hint` puts
    `shard(SHARD_HINT, SHARD_HINT)` on the file list: distributed with
    `AutoShardPolicy.HINT`, each worker reads whole files (and the dataset works only so).
    """

    wanted = {p.shard for p in pairs}
    shard_dir = next(iter(wanted)).parent
    manifest = load_manifest(shard_dir)
    files = [shard_dir / s["file"] for s in manifest["shards"] if shard_dir / s["file"] in wanted]
    if len(files) != len(wanted):
        strays = sorted(str(f) for f in wanted - set(files))
        raise UsageError(f"{strays[0]}: not a shard of {shard_dir / MANIFEST}")
    return _read(_existing(files), manifest["size"], [f"{p.folder}/{p.stem}" for p in pairs],
                 lambda example: tf.strings.join([example["folder"], example["stem"]], "/"),
                 shard_hint)


def left_out_report(shard_dir):
    """The `ValidationReport` of the dataset the shards were written from, from the manifest:
    its problems concern pairs that are not in the shards."""

    manifest = load_manifest(shard_dir)
    problems = [Problem(p["path"], p["problem"]) for p in manifest["problems"]]
    return ValidationReport(sum(manifest["counts"].values()) + len(manifest["left_out"]),
                            problems)


def class_pixel_counts(pairs, scheme):
    """`facelib.data.validate.class_pixel_counts` of shard pairs: the masks at the shard
    size, rows in the order of `pairs`."""

    by_key = {(p.folder, p.stem): p for p in pairs}
    rows = {}
    for example in read_pairs(pairs).as_numpy_iterator():
        key = (example["folder"].decode(), example["stem"].decode())
        rows[key] = class_fractions(by_key[key], example["mask"], scheme)
    return fractions_table((rows[p.folder, p.stem] for p in pairs), scheme)


def _read(files: list[Path], size: int, keep, key, shard_hint: bool = False):
    """Examples of `files` decoded; only those whose `key(example)` is in `keep` (all if
    None), filtered before decoding; `shard_hint` as in `read_pairs`."""

    names = tf.data.Dataset.from_tensor_slices([str(f) for f in files])
    if shard_hint:
        names = names.shard(tf.data.experimental.SHARD_HINT, tf.data.experimental.SHARD_HINT)
    dataset = tf.data.TFRecordDataset(names)
    features = {name: tf.io.FixedLenFeature([], tf.string)
                for name in ("stem", "subject", "folder", "image", "mask")}
    dataset = dataset.map(lambda record: tf.io.parse_single_example(record, features),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if keep is not None:
        keep = sorted(set(keep))
        if not keep:
            dataset = dataset.take(0)
        else:
            table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(tf.constant(keep, tf.string),
                                                    tf.ones(len(keep), tf.int32)),
                default_value=0)
            dataset = dataset.filter(lambda e: table.lookup(key(e)) == 1)

    def decode(example):
        image = tf.ensure_shape(tf.io.decode_png(example["image"], channels=3), (size, size, 3))
        mask = tf.ensure_shape(tf.io.decode_png(example["mask"], channels=1), (size, size, 1))
        return {"image": image, "mask": mask[..., 0], "stem": example["stem"],
                "subject": example["subject"], "folder": example["folder"]}

    return dataset.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
