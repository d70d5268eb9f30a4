"""Where a profile's data comes from, what it holds, and its train/val/test splits.

`data.source`: `synthetic` (made on first use) and `folder` are datasets in the reference
layout; `shards` is a folder written by `facelib shards`. Shards are split from their
manifest as a folder is from its files (`split_pairs`), so one dataset as a folder or as
shards gives the same splits; their pairs are `Pair`s whose image and mask are the pair's
shard file. The functions here take the profile's params and `dataset_root(params)`.
"""

from __future__ import annotations

from pathlib import Path

from facelib.core.errors import FacelibError
from facelib.core.params import ParamsError, resolve_path


def is_shards(params: dict) -> bool:
    return params["data"]["source"] == "shards"


def dataset_root(params: dict, progress: bool | None = None) -> Path:
    """The dataset folder of a profile: the synthetic default (made on first use) or data.root.

    A shards folder must be complete (manifest and every shard file) and hold pairs of
    `data.image_size`, or ParamsError/UsageError names what is wrong.
    """
    data = params["data"]
    if data["source"] == "synthetic":
        from facelib.data.synth import ensure_synthetic

        return ensure_synthetic(params, progress=progress)
    root = resolve_path(data["root"])
    if not root.exists():
        raise ParamsError(f"data.root = {data['root']!r}: no such folder ({root})")
    if is_shards(params):
        check_shards(root, data["image_size"])
    return root


def check_shards(root: Path, image_size: int) -> None:
    """A complete shards folder of `image_size` x `image_size` pairs; the shards are not
    resized, so another size is a ParamsError."""
    from facelib.data.shards import MANIFEST, load_manifest, shard_files

    size = load_manifest(root)["size"]
    shard_files(root)
    if size != image_size:
        raise ParamsError(
            f"data.image_size = {image_size}, but the shards in {root} hold {size}x{size} "
            f"pairs ({root / MANIFEST}); set data.image_size: {size}, or write shards with "
            f"`facelib shards DATA_DIR OUT --size {image_size}`"
        )


def load_pairs(params: dict, root: Path) -> list:
    """Every pair of the dataset: found under a folder, or listed by the shards' manifest."""
    if is_shards(params):
        from facelib.data.shards import shard_pairs

        return shard_pairs(root)
    from facelib.data.discover import find_pairs

    return find_pairs(root)


def data_report(params: dict, root: Path, scheme=None, progress: bool | None = None):
    """The `ValidationReport` of the dataset: a folder is validated now; shards carry the
    report made when they were written (their problem pairs were left out)."""
    if is_shards(params):
        from facelib.data.shards import left_out_report

        return left_out_report(root)
    from facelib.data.validate import validate_dataset

    return validate_dataset(root, scheme=scheme, progress=progress)


def class_shares(params: dict, pairs: list, scheme, progress: bool | None = None):
    """`class_pixel_counts` of the pairs (from shards: the masks at the shard size)."""
    if is_shards(params):
        from facelib.data.shards import class_pixel_counts

        return class_pixel_counts(pairs, scheme)
    from facelib.data.validate import class_pixel_counts

    return class_pixel_counts(pairs, scheme, progress=progress)


def sample_pairs(params: dict, pairs: list, n: int, seed: int) -> list:
    """What to give `show_samples(..., n=n, seed=seed)`: a folder's pairs as they are; from
    shards, the very pairs it would pick, read as (stem, photo, mask) arrays."""
    if not is_shards(params):
        return pairs
    from facelib.data.shards import read_pairs
    from facelib.reports.viz import sample_indices

    chosen = [pairs[i] for i in sample_indices(len(pairs), n, seed)]
    return [(e["stem"].decode(), e["image"], e["mask"])
            for e in read_pairs(chosen).as_numpy_iterator()]


def load_splits(params: dict, skipped_report: Path | None = None) -> dict:
    """Validate the dataset, then split it; bad samples stop training or are skipped.

    With `data.on_bad_sample: error` any problem raises DataProblemsError carrying the
    validation report; with `skip` the bad pairs are left out and, when `skipped_report` is
    given, listed there. Nothing is skipped silently. Shards hold no bad pairs: the ones
    left out when they were written are listed in `skipped_report` whatever
    `on_bad_sample` says.
    """
    from facelib.data.discover import split_pairs
    from facelib.core.scheme import ClassScheme

    root = dataset_root(params)
    scheme = ClassScheme.from_params(params["data"]["classes"])
    report = data_report(params, root, scheme)
    pairs = load_pairs(params, root)
    if not report.ok:
        if params["data"]["on_bad_sample"] == "error" and not is_shards(params):
            raise DataProblemsError(root, report)
        bad = set(report.bad_stems())
        pairs = [p for p in pairs if p.stem not in bad]
        if skipped_report is not None:
            from facelib.core.io import write_text

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
