"""The data fingerprint of a run: a sha256 over what its splits are made of.

Folder pairs: for each split in order (train, val, test), each pair's photo and mask, by
their path relative to the dataset root and their bytes. Shards: the manifest, each split's
pairs by folder and stem, then every shard file the splits read, in order of first use.
So renaming, editing, adding or moving a file between splits changes the fingerprint, and
moving the dataset to another folder does not.
"""

from __future__ import annotations

from pathlib import Path

from facelib.core.provenance import fingerprint
from facelib.data.discover import ShardPair

MANIFEST = "shards.json"  # facelib.data.shards.MANIFEST, without importing TensorFlow


def _name(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:  # a pair outside the root: its full path
        return path.resolve().as_posix()


def data_fingerprint(splits: dict[str, list], root: str | Path) -> str:
    """sha256 (hex) of the pairs of `splits` (split name -> pairs) of the dataset at `root`."""
    root = Path(root)
    entries: list[tuple[str, Path | bytes]] = []
    shard_files: dict[Path, None] = {}
    for split, pairs in splits.items():
        for pair in pairs:
            if isinstance(pair, ShardPair):
                entries.append((f"{split}:{pair.folder}/{pair.stem}", b""))
                shard_files.setdefault(pair.shard, None)
            else:
                entries += [(f"{split}:{_name(pair.image, root)}", pair.image),
                            (f"{split}:{_name(pair.mask, root)}", pair.mask)]
    if shard_files:
        entries = [(MANIFEST, root / MANIFEST), *entries,
                   *((_name(shard, root), shard) for shard in shard_files)]
    return fingerprint(entries)
