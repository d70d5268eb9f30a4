"""FASSEG itself (never in the repository): converted, validated and trained for one short
epoch. The folder is `../shared/real/fasseg` beside the repository, or the one named by the
environment variable FACELIB_FASSEG; the tests are skipped, saying why, where it is absent."""

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from facelib.core.params import load_params
from facelib.core.scheme import ClassScheme
from facelib.data.convert import convert
from facelib.data.discover import find_pairs, split_pairs
from facelib.data.validate import validate_dataset

ROOT = Path(__file__).resolve().parents[1]
FASSEG = Path(os.environ.get("FACELIB_FASSEG") or ROOT.parent / "shared" / "real" / "fasseg")
CLASSES = ["background", "hair", "skin", "eyes", "nose", "mouth"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (FASSEG / "V3").is_dir(),
                       reason=f"FASSEG not found at {FASSEG} (set FACELIB_FASSEG)"),
]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = tmp_path_factory.mktemp("fasseg") / "data"
    result = convert("fasseg", FASSEG, out, progress=False)
    return out, result


def test_conversion_keeps_the_published_division(converted):
    out, result = converted
    record = json.loads((out / "conversion.json").read_text())
    assert 0 < record["snapped pixels"]["share"] < 0.05
    # Problems, if any, are upstream label images whose size differs from their photo's.
    assert all("its photo is" in p for p in result.problems), result.problems
    params = load_params(ROOT / "params" / "fasseg.yaml", overrides={"data": {"root": str(out)}})
    scheme = ClassScheme.from_params(params["data"]["classes"])
    assert list(scheme.names) == CLASSES
    report = validate_dataset(out, scheme, progress=False)
    assert report.ok, report.summary()
    splits = split_pairs(find_pairs(out), params["data"]["split"])
    test_persons = {p.subject for p in splits["test"]}
    assert test_persons == {f"personne{n:02d}" for n in range(8, 16)}
    assert not test_persons & {p.subject for p in splits["train"]}
    labelled = {p.stem for p in (FASSEG / "V3").glob("Test_[lL]abels/*/*") if p.is_file()}
    assert len(splits["test"]) == len(labelled) - len(result.problems)


def test_one_short_epoch_trains_and_scores_the_test_persons(converted, tmp_path):
    from facelib.engine.training import train_model

    out, _ = converted
    params = load_params(ROOT / "params" / "fasseg.yaml", overrides={
        "data": {"root": str(out), "image_size": 64},
        "output_dir": str(tmp_path / "outputs"),
        "train": {"epochs": 1, "steps_per_epoch": 3, "batch_size": 4},
        "eval": {"batch_size": 16},
    })
    run = train_model(params, params["models"][0])
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert metrics["classes"] == CLASSES
    assert metrics["evaluated_at"] == "photo size"
    assert metrics["hflip"] and metrics["scales"] == [0.875, 1.0, 1.25]
    assert metrics["refine"] == {"radius": 2, "eps": 0.01}
    assert 0 < metrics["pixel_accuracy"] <= 1
    split = pd.read_csv(run.folder / "split.csv")
    assert metrics["n_images"] == (split["split"] == "test").sum() > 80
    assert len(list((run.folder / "test_predictions").glob("*.png"))) == metrics["n_images"]
