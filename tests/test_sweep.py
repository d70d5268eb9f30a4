"""`facelib sweep`: one run per combination, checked first, resumable, then one comparison."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from facelib.app.sweep import parse_grid, plan, value_slug
from facelib.core.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "params/sweep-quick.yaml"
GRID = ["--grid", "train.learning_rate=0.001,0.003", "--grid", "train.loss=[dice,cce],[cce]"]


def test_grid_values_are_yaml_and_brackets_keep_lists_whole():
    grid = parse_grid(["train.learning_rate=0.001,0.003", "train.loss=[dice,cce],[cce]"])
    assert grid == {"train.learning_rate": [0.001, 0.003], "train.loss": [["dice", "cce"],
                                                                          ["cce"]]}
    assert value_slug("train.loss", ["dice", "cce"]) == "loss=dice+cce"
    with pytest.raises(UsageError, match="given twice"):
        parse_grid(["train.epochs=1,2", "train.epochs=3"])


def test_every_combination_is_checked_before_any_training(tmp_path):
    with pytest.raises(UsageError, match=r"--grid learning_rate=-1: .*train.learning_rate = -1"):
        plan(PROFILE, parse_grid(["train.learning_rate=0.001,-1"]),
             [f"output_dir={tmp_path}"])
    combinations = plan(PROFILE, parse_grid(GRID[1::2]), [f"output_dir={tmp_path}"])
    assert [c.run_names for c in combinations] == [
        ["unet_resnet18-learning_rate=0.001-loss=dice+cce"],
        ["unet_resnet18-learning_rate=0.001-loss=cce"],
        ["unet_resnet18-learning_rate=0.003-loss=dice+cce"],
        ["unet_resnet18-learning_rate=0.003-loss=cce"]]


@pytest.mark.slow
@pytest.mark.notebook
def test_sweep_trains_each_combination_once_and_compares_them(tmp_path, facelib_cmd):
    def sweep(*args, check=True):
        return facelib_cmd("sweep", PROFILE, *args, check=check)

    out = tmp_path / "sweep"
    bad = sweep("--grid", "train.learning_rate=0.001,-1", "--set", f"output_dir={out}",
                check=False)
    assert bad.code == 2 and "train.learning_rate = -1" in bad.err
    assert not (out / "runs").exists()

    # Four notebooks in all (two trainings, two comparisons): the product of several keys is
    # planned in the test above, and the list-valued key is the one varied here.
    fixed = ["--grid", "train.learning_rate=0.001", "--set", f"output_dir={out}"]
    first = sweep("--grid", "train.loss=[cce]", *fixed)
    assert first.err.count(": done") == 2  # the run and the comparison
    again = sweep("--grid", "train.loss=[dice,cce],[cce]", *fixed)
    assert again.err.count(": skipped") == 1  # the finished one is not repeated
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == ["unet_resnet18-learning_rate=0.001-loss=cce",
                    "unet_resnet18-learning_rate=0.001-loss=dice+cce"]
    assert all((out / "runs" / r / "metrics.json").exists() for r in runs)
    table = pd.read_csv(out / "comparison.csv")
    assert sorted(table["model"]) == runs
    assert "train.loss" in table.columns and table["train.loss"].nunique() == 2
    assert table["iou"].is_monotonic_decreasing
    assert (out / "params.png").exists() and (out / "03_compare.html").exists()

    other = tmp_path / "other"
    shutil.copytree(out / "runs", other / "runs")
    both = tmp_path / "both"
    facelib_cmd("compare", out, other, "--out", both, "--params", PROFILE)
    names = pd.read_csv(both / "comparison.csv")["model"]
    assert sorted(names) == sorted([f"sweep/{r}" for r in runs] + [f"other/{r}" for r in runs])
