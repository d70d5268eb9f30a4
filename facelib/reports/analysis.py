"""Tables of the data-analysis notebook: the class scheme and the pairs of each folder."""

from __future__ import annotations

import pandas as pd

from facelib.core.scheme import SOURCE_NAMES, ClassScheme


def class_table(scheme: ClassScheme) -> pd.DataFrame:
    """One row per training id: class name, its source ids with their names, its colour."""
    return pd.DataFrame(
        {
            "class": scheme.names,
            "source ids": [", ".join(f"{i} {SOURCE_NAMES[i]}" for i in ids)
                           for ids in scheme.source_ids],
            "colour": [str(c) for c in scheme.colors],
        }
    ).rename_axis("training id")


def folder_counts(pairs) -> pd.DataFrame:
    """Pairs and subjects of each dataset folder (train, val)."""
    sizes = pd.DataFrame([{"folder": p.folder, "subject": p.subject} for p in pairs])
    return sizes.groupby("folder").agg(pairs=("subject", "size"),
                                       subjects=("subject", "nunique"))
