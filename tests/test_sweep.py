"""`facelib sweep`: one run per combination, checked first, resumable, then one comparison."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from facelib.app.sweep import parse_grid, plan, value_slug
from facelib.core.errors import UsageError
from facelib.core.runs import Run
from facelib.reports.compare import comparison_table

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
    assert runs == ["unet_resnet18-loss=cce-learning_rate=0.001",  # in the order of --grid
                    "unet_resnet18-loss=dice+cce-learning_rate=0.001"]
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


def test_comparison_has_a_column_for_each_varied_key(tmp_path):
    scores = {"precision": 0.5, "recall": 0.5, "f1": 0.5, "iou": 0.5}
    runs = []
    for index, (rate, loss) in enumerate([(0.001, ["dice", "cce"]), (0.001, ["cce"]),
                                          (0.003, ["dice", "cce"])]):
        folder = tmp_path / f"run{index}"
        folder.mkdir()
        (folder / "params.yaml").write_text(yaml.safe_dump(
            {"seed": 1, "train": {"learning_rate": rate, "loss": loss, "epochs": 1}}))
        (folder / "metrics.json").write_text(json.dumps({
            "architecture": "unet", "backbone": "resnet18", "classes": ["background"],
            "mean": {**scores, "iou": 0.1 * index}, "mean_foreground": scores,
            "per_class": {"background": scores}}))
        runs.append(Run.load(folder))
    table = comparison_table(runs)
    assert list(table.columns[:5]) == ["model", "architecture", "backbone",
                                       "train.learning_rate", "train.loss"]
    assert table[["model", "train.learning_rate"]].values.tolist() == [
        ["run2", 0.003], ["run1", 0.001], ["run0", 0.001]]
    assert table["train.loss"].tolist() == ["dice+cce", "cce", "dice+cce"]
