"""Where a profile's data comes from, and its train/val/test splits."""

from __future__ import annotations

from pathlib import Path

from facelib.errors import FacelibError
from facelib.params import ParamsError, resolve_path


def dataset_root(params: dict, progress: bool | None = None) -> Path:
    """The dataset folder of a profile: the synthetic default (made on first use) or data.root."""
    data = params["data"]
    if data["source"] == "synthetic":
        from facelib.data.synth import ensure_synthetic

        return ensure_synthetic(params, progress=progress)
    if data["source"] == "shards":
        raise ParamsError(
            "data.source = 'shards': `facelib shards` writes and `facelib.data.shards."
            "read_shards` reads shards, but `facelib train` does not read them yet; train "
            "with data.source: folder on the dataset the shards were written from"
        )
    root = resolve_path(data["root"])
    if not root.exists():
        raise ParamsError(f"data.root = {data['root']!r}: no such folder ({root})")
    return root


def load_splits(params: dict, skipped_report: Path | None = None) -> dict:
    """Validate the dataset, then split it; bad samples stop training or are skipped.

    With `data.on_bad_sample: error` any problem raises DataProblemsError carrying the
    validation report; with `skip` the bad pairs are left out and, when `skipped_report` is
    given, listed there. Nothing is skipped silently.
    """
    from facelib.data.discover import find_pairs, split_pairs
    from facelib.data.validate import validate_dataset
    from facelib.scheme import ClassScheme

    root = dataset_root(params)
    scheme = ClassScheme.from_params(params["data"]["classes"])
    report = validate_dataset(root, scheme=scheme)
    pairs = find_pairs(root)
    if not report.ok:
        if params["data"]["on_bad_sample"] == "error":
            raise DataProblemsError(root, report)
        bad = set(report.bad_stems())
        pairs = [p for p in pairs if p.stem not in bad]
        if skipped_report is not None:
            from facelib.io import write_text

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
