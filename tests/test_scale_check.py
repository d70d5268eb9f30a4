"""The scale check's synthetic pairs are a valid dataset, and its steps report measurements."""

import pytest

from benchmarks.scale import make_pairs, measure, pair_location
from facelib.data.validate import validate_dataset


@pytest.mark.slow  # spawns worker processes and a measured step process
def test_quick_pairs_validate_and_steps_are_measured(tmp_path):
    root = tmp_path / "pairs"
    make_pairs(10, root, size=64, workers=1)
    assert pair_location(19) == ("val", "s000004_3")
    report = validate_dataset(root, workers=1, progress=False)
    assert report.ok and report.n_pairs == 10
    result = measure("class_pixel_counts", root, workers=1)
    assert result["step"] == "class_pixel_counts" and result["rows"] == 10
    assert {"seconds", "peak_mb", "largest_child_mb"} <= result.keys()
