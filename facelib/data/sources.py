"""Where a profile's data comes from: one source type per kind, chosen once from params.

`data_source(params)` returns a `FolderSource` (`data.source: synthetic`, made on first use,
or `folder`: a dataset in the reference layout) or a `ShardSource` (`shards`: a folder
written by `facelib shards`). Each says what its pairs are and provides what the steps
after it need: the validation report, the class shares, pairs as numpy arrays (pictures,
evaluation), and tf.data samples for training. Shards are split from their manifest as a
folder is from its files (`split_pairs`), so one dataset as a folder or as shards gives the
same splits.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import tensorflow as tf

from facelib.core.errors import FacelibError
from facelib.core.io import write_png, write_text
from facelib.core.params import ParamsError, resolve_path
from facelib.core.scheme import ClassScheme
from facelib.data import shards, validate
from facelib.data.discover import (
    Pair,
    ShardPair,
    find_pairs,
    load_image,
    load_label_map,
    split_pairs,
)
from facelib.data.pipeline import folder_samples, shard_samples
from facelib.data.synth import ensure_synthetic


def sample_indices(count: int, n: int, seed: int) -> list[int]:
    """The `n` (at most `count`) random positions that `show_samples` shows, sorted."""
    return sorted(np.random.default_rng(seed).choice(count, min(n, count), replace=False))


class FolderSource:
    """A dataset in the reference layout `ROOT/{train,val}/{image,seg}/STEM.ext`."""

    evaluated_at = "photo size"  # where evaluation predicts and scores
    checks_pairs = True          # its report comes from validating the files now

    def __init__(self, root: Path):
        self.root = Path(root)

    def pairs(self) -> list[Pair]:
        return find_pairs(self.root)

    def report(self, scheme: ClassScheme | None = None, progress: bool | None = None):
        return validate.validate_dataset(self.root, scheme=scheme, progress=progress)

    def class_shares(self, pairs: list[Pair], scheme: ClassScheme,
                     progress: bool | None = None) -> pd.DataFrame:
        return validate.class_pixel_counts(pairs, scheme, progress=progress)

    def read(self, pairs: list[Pair]) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """(stem, RGB photo, source-id mask) of each pair, at the photo's size."""
        for pair in pairs:
            yield pair.stem, load_image(pair.image), load_label_map(pair.mask)

    def picture_samples(self, pairs: list[Pair], n: int, seed: int) -> list:
        """What to give `show_samples(..., n=n, seed=seed)`: the pairs as they are."""
        return pairs

    def samples(self, pairs: list[Pair], params: dict, scheme: ClassScheme,
                shuffle_seed: int | None, shard_hint: bool) -> tf.data.Dataset:
        return folder_samples(pairs, params["data"], scheme, shuffle_seed, shard_hint)

    def photo_files(self, pairs: list[Pair], out_dir: Path) -> list[str]:
        """Photo files of the pairs, for tools that read photos: their own files."""
        return [str(pair.image) for pair in pairs]

    def pairs_of_split(self, rows: pd.DataFrame) -> list[Pair]:
        """The pairs of `split.csv` rows."""
        return [Pair(r.stem, r.subject, r.folder, Path(r.image), Path(r.mask))
                for r in rows.itertuples()]


class ShardSource:
    """TFRecord shards of resized pairs, written by `facelib shards` (`shards.json`)."""

    evaluated_at = "shard size"
    checks_pairs = False  # its report is the one made when the shards were written

    def __init__(self, root: Path):
        self.root = Path(root)

    def pairs(self) -> list[ShardPair]:
        return shards.shard_pairs(self.root)

    def report(self, scheme: ClassScheme | None = None, progress: bool | None = None):
        """The report made when the shards were written: its problem pairs were left out."""
        return shards.left_out_report(self.root)

    def class_shares(self, pairs: list[ShardPair], scheme: ClassScheme,
                     progress: bool | None = None) -> pd.DataFrame:
        return shards.class_pixel_counts(pairs, scheme)

    def read(self, pairs: list[ShardPair]) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """(stem, RGB photo, source-id mask) of each pair at the shard size, in the order of
        `pairs`."""
        examples = {(e["folder"].decode(), e["stem"].decode()): e
                    for e in shards.read_pairs(pairs).as_numpy_iterator()}
        for pair in pairs:
            example = examples[pair.folder, pair.stem]
            yield pair.stem, example["image"], example["mask"]

    def picture_samples(self, pairs: list[ShardPair], n: int, seed: int) -> list:
        """The very pairs `show_samples(..., n=n, seed=seed)` would pick, read as
        (stem, photo, mask) arrays."""
        chosen = [pairs[i] for i in sample_indices(len(pairs), n, seed)]
        return list(self.read(chosen))

    def samples(self, pairs: list[ShardPair], params: dict, scheme: ClassScheme,
                shuffle_seed: int | None, shard_hint: bool) -> tf.data.Dataset:
        return shard_samples(pairs, scheme, shuffle_seed, shard_hint)

    def photo_files(self, pairs: list[ShardPair], out_dir: Path) -> list[str]:
        """The pairs' photos at the shard size, written to `out_dir/STEM.png`."""
        paths = []
        for stem, image, _ in self.read(pairs):
            paths.append(Path(out_dir) / f"{stem}.png")
            write_png(paths[-1], cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        return [str(path) for path in paths]

    def pairs_of_split(self, rows: pd.DataFrame) -> list[ShardPair]:
        return [ShardPair(r.stem, r.subject, r.folder, Path(r.shard)) for r in rows.itertuples()]


def data_source(params: dict, progress: bool | None = None) -> FolderSource | ShardSource:
    """The profile's source: the synthetic default (made on first use), or `data.root` as
    a folder or as shards. A shards folder must be complete (manifest and every shard file)
    and hold pairs of `data.image_size`, or ParamsError/UsageError names what is wrong."""
    data = params["data"]
    if data["source"] == "synthetic":
        return FolderSource(ensure_synthetic(params, progress=progress))
    root = resolve_path(data["root"])
    if not root.exists():
        raise ParamsError(f"data.root = {data['root']!r}: no such folder ({root})")
    if data["source"] == "shards":
        check_shards(root, data["image_size"])
        return ShardSource(root)
    return FolderSource(root)


def check_shards(root: Path, image_size: int) -> None:
    """A complete shards folder of `image_size` x `image_size` pairs; the shards are not
    resized, so another size is a ParamsError."""
    size = shards.load_manifest(root)["size"]
    shards.shard_files(root)
    if size != image_size:
        raise ParamsError(
            f"data.image_size = {image_size}, but the shards in {root} hold {size}x{size} "
            f"pairs ({root / shards.MANIFEST}); set data.image_size: {size}, or write shards "
            f"with `facelib shards DATA_DIR OUT --size {image_size}`"
        )


def load_splits(params: dict, source=None, skipped_report: Path | None = None) -> dict:
    """Validate the dataset, then split it; bad samples stop training or are skipped.

    With `data.on_bad_sample: error` any problem raises DataProblemsError carrying the
    validation report; with `skip` the bad pairs are left out and, when `skipped_report` is
    given, listed there. Nothing is skipped silently. Shards hold no bad pairs: the ones
    left out when they were written are listed in `skipped_report` whatever
    `on_bad_sample` says.
    """
    source = source or data_source(params)
    scheme = ClassScheme.from_params(params["data"]["classes"])
    report = source.report(scheme)
    pairs = source.pairs()
    if not report.ok:
        if params["data"]["on_bad_sample"] == "error" and source.checks_pairs:
            raise DataProblemsError(source.root, report)
        bad = set(report.bad_stems())
        pairs = [p for p in pairs if p.stem not in bad]
        if skipped_report is not None:
            write_text(skipped_report, report.summary() + "\n")
    return split_pairs(pairs, params["data"]["split"])


class DataProblemsError(FacelibError, ValueError):
    """The dataset has problems and `data.on_bad_sample` is `error`."""

    def __init__(self, root: Path, report):
        self.report = report
        super().__init__(
            f"{root}: the dataset has {len(report.problems)} problem(s); fix them, or set "
            f"data.on_bad_sample: skip to leave those samples out.\n{report.summary()}"
        )
