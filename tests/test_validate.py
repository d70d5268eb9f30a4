"""Dataset validation names every bad file and nothing else."""

import json

import cv2
import numpy as np
import pytest
from fixtures.folders import make_dataset_folder, random_image, striped_mask, write_file, write_pair

from facelib.core.params import load_defaults
from facelib.core.scheme import ClassScheme
from facelib.data.discover import DatasetError, find_pairs
from facelib.data.validate import class_pixel_counts, validate_dataset


@pytest.fixture
def faulty(tmp_path):
    """A dataset with one pair of each fault, plus good pairs that must be accepted."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    write_pair(root, "train", "good_1", random_image(rng), striped_mask(), ext=".jpg")
    write_pair(root, "train", "gray_1", random_image(rng)[..., 0], striped_mask())
    write_pair(root, "val", "upper_1", random_image(rng), striped_mask(), ext=".PNG")
    equal_channels = np.repeat(striped_mask()[..., None], 3, axis=-1)
    write_pair(root, "val", "rgbmask_1", random_image(rng), equal_channels)
    faults = {
        "lonely_image": write_file(root / "train/image/lonely_1.png", random_image(rng)),
        "lonely_mask": write_file(root / "train/seg/orphan_1.png", striped_mask()),
        "unsupported": write_file(root / "train/image/notes.bmp", random_image(rng)),
    }
    image, faults["empty"] = write_pair(root, "train", "empty_1", random_image(rng),
                                        striped_mask())
    faults["empty"].write_bytes(b"")
    faults["corrupt"], _ = write_pair(root, "train", "corrupt_1", random_image(rng),
                                      striped_mask(), ext=".jpg")
    faults["corrupt"].write_bytes(faults["corrupt"].read_bytes()[:200])
    _, faults["size"] = write_pair(root, "val", "size_1", random_image(rng),
                                   striped_mask(12, 32))
    unknown = striped_mask()
    unknown[:2, :3] = 42
    _, faults["label"] = write_pair(root, "val", "label_1", random_image(rng), unknown)
    colour = np.dstack([striped_mask(), striped_mask(), np.zeros((24, 32), np.uint8)])
    _, faults["colour"] = write_pair(root, "val", "colour_1", random_image(rng), colour)
    return root, faults


def test_every_fault_is_named_with_its_path_and_nothing_else(faulty):
    root, faults = faulty

    report = validate_dataset(root, workers=2, progress=False)

    found = {p.path: p.problem for p in report.problems}
    assert set(found) == {str(path) for path in faults.values()}
    expected = {
        "lonely_image": "no mask lonely_1.*",
        "lonely_mask": "no image orphan_1.*",
        "unsupported": "unsupported extension",
        "empty": "empty file (0 bytes)",
        "corrupt": "not a readable image",
        "size": "mask is 32x12 but its image size_1.png is 32x24",
        "label": "label values outside the class scheme: 42 (6 px)",
        "colour": "mask has 3 different channels",
    }
    for fault, text in expected.items():
        assert text in found[str(faults[fault])], fault
    assert not report.ok
    assert report.n_pairs == 9  # 4 good and 5 bad complete pairs
    assert report.bad_stems() == ["colour_1", "corrupt_1", "empty_1", "label_1", "size_1"]
    assert set(report.bad_paths()) == set(found)
    lines = report.summary().splitlines()
    assert lines[0] == "9 pairs checked, 8 problems"
    assert f"{faults['label']}: label values outside" in report.summary()


def test_report_dict_is_json(faulty):
    root, faults = faulty

    report = json.loads(json.dumps(validate_dataset(root, progress=False).to_dict()))

    assert set(report) == {"n_pairs", "problems"}
    assert report["n_pairs"] == 9
    assert all(set(p) == {"path", "problem"} for p in report["problems"])
    assert len(report["problems"]) == len(faults)


def test_a_clean_dataset_is_ok(tmp_path):
    report = validate_dataset(make_dataset_folder(tmp_path, subjects=4, frames=2),
                              progress=False)

    assert report.ok and report.n_pairs == 8 and report.problems == []
    assert report.summary() == "8 pairs checked, 0 problems"


def test_labels_are_checked_against_the_scheme(tmp_path):
    rng = np.random.default_rng(0)
    mask = striped_mask(ids=(0, 17, 18))
    write_pair(tmp_path, "train", "a", random_image(rng), mask)
    scheme = ClassScheme.from_params(load_defaults()["data"]["classes"])

    report = validate_dataset(tmp_path, scheme=scheme, progress=False)

    assert [p.problem for p in report.problems] == [
        "label values outside the class scheme: 18 (240 px)"]


def test_cli_exit_codes(faulty, tmp_path, cli):
    root, faults = faulty

    done = cli("validate", root, "--json")
    assert done.code == 1
    assert ({p["path"]: p["problem"] for p in json.loads(done.out)["problems"]}
            == {p.path: p.problem for p in validate_dataset(root, progress=False).problems})
    assert {p["path"] for p in json.loads(done.out)["problems"]} == set(map(str, faults.values()))
    done = cli("validate", make_dataset_folder(tmp_path / "clean", 4, 1))
    assert (done.code, done.out) == (0, "4 pairs checked, 0 problems\n")
    done = cli("validate", tmp_path / "clean" / "train")
    assert done.code == 2
    assert "no train/ or val/ folder" in done.err


def test_class_pixel_counts(tmp_path):
    rng = np.random.default_rng(0)
    write_pair(tmp_path, "train", "s1_a", random_image(rng, 10, 40),
               striped_mask(10, 40, ids=(0, 10, 13, 16)))
    write_pair(tmp_path, "val", "s2_a", random_image(rng), striped_mask(ids=(1,)))
    scheme = ClassScheme.from_params(load_defaults()["data"]["classes"])

    table = class_pixel_counts(find_pairs(tmp_path), scheme, progress=False)

    assert list(table.columns) == ["stem", "subject", "folder", "height", "width",
                                   *scheme.names]
    first = table.iloc[0]
    assert (first["stem"], first["subject"], first["height"], first["width"]) == \
        ("s1_a", "s1", 10, 40)
    assert first["background"] == pytest.approx(0.5)
    assert first["ears"] == pytest.approx(0.25) and first["glasses"] == pytest.approx(0.25)
    assert table.iloc[1]["skin"] == 1.0
    np.testing.assert_allclose(table[list(scheme.names)].sum(axis=1), 1.0)


def test_class_pixel_counts_names_a_bad_mask(tmp_path):
    rng = np.random.default_rng(0)
    _, mask = write_pair(tmp_path, "train", "a", random_image(rng), striped_mask())
    cv2.imwrite(str(mask), random_image(rng))
    scheme = ClassScheme.from_params(load_defaults()["data"]["classes"])

    with pytest.raises(DatasetError, match=r"a\.png: mask has 3 different channels"):
        class_pixel_counts(find_pairs(tmp_path), scheme, progress=False)
