"""Finding pairs in the reference layout and splitting them by subject."""

from pathlib import Path

import numpy as np
import pytest
from fixtures.folders import make_dataset_folder, random_image, striped_mask, write_file, write_pair

from facelib.data.discover import (
    DatasetError,
    find_pairs,
    load_image,
    load_label_map,
    split_pairs,
    split_summary,
    subjects_overlap,
)

GROUPED = {"mode": "grouped", "test_fraction": 0.35, "val_fraction": 0.2, "seed": 1996,
           "group_by": "subject"}
FOLDERS = dict(GROUPED, mode="folders")


def test_pairs_by_stem_with_any_extension_case(tmp_path):
    rng = np.random.default_rng(0)
    write_pair(tmp_path, "train", "b_1", random_image(rng), striped_mask(), ext=".JPG")
    write_pair(tmp_path, "train", "a_1", random_image(rng), striped_mask(), ext=".jpeg")
    write_pair(tmp_path, "val", "c", random_image(rng), striped_mask(), ext=".png")
    write_file(tmp_path / "train" / "image" / "lonely.png", random_image(rng))
    write_file(tmp_path / "val" / "seg" / "orphan.png", striped_mask())

    pairs = find_pairs(tmp_path)

    assert [(p.folder, p.stem, p.subject) for p in pairs] == [
        ("train", "a_1", "a"), ("train", "b_1", "b"), ("val", "c", "c")]
    assert pairs[1].image == tmp_path / "train" / "image" / "b_1.JPG"
    assert pairs[1].mask == tmp_path / "train" / "seg" / "b_1.png"


def test_root_without_split_folders_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match=r"no train/ or val/ folder.*image,seg"):
        find_pairs(tmp_path)


def test_grouped_split_keeps_subjects_apart_with_about_the_fractions(tmp_path):
    pairs = find_pairs(make_dataset_folder(tmp_path, subjects=40, frames=3))

    splits = split_pairs(pairs, GROUPED)

    assert subjects_overlap(splits) == set()
    sizes = {name: len(members) for name, members in splits.items()}
    assert sum(sizes.values()) == len(pairs) == 120
    assert sizes["test"] == pytest.approx(0.35 * 120, abs=6)
    assert sizes["val"] == pytest.approx(0.2 * 0.65 * 120, abs=6)
    for members in splits.values():
        assert [p.stem for p in members] == sorted(p.stem for p in members)
    summary = split_summary(splits)
    assert list(summary.index) == ["train", "val", "test"]
    assert summary.loc["test", "pairs"] == sizes["test"]
    assert summary["subjects"].sum() == 40


def test_grouped_split_is_deterministic_for_a_seed(tmp_path):
    pairs = find_pairs(make_dataset_folder(tmp_path, subjects=30, frames=2))

    first = split_pairs(pairs, GROUPED)
    again = split_pairs(list(reversed(pairs)), GROUPED)
    other = split_pairs(pairs, dict(GROUPED, seed=7))

    assert first == again
    assert first != other


def test_group_by_none_splits_single_pairs(tmp_path):
    pairs = find_pairs(make_dataset_folder(tmp_path, subjects=2, frames=10))

    splits = split_pairs(pairs, dict(GROUPED, group_by="none"))

    assert all(splits.values())
    assert subjects_overlap(splits)  # two subjects cannot stay apart in three splits


def test_folders_mode_uses_the_folders_and_tests_on_val(tmp_path):
    pairs = find_pairs(make_dataset_folder(tmp_path, subjects=8, frames=2))

    splits = split_pairs(pairs, FOLDERS)

    assert {p.folder for p in splits["train"]} == {"train"}
    assert {p.folder for p in splits["val"]} == {"val"}
    assert splits["test"] == splits["val"]
    assert len(splits["train"]) + len(splits["val"]) == len(pairs)
    assert subjects_overlap(splits) == set()


def test_an_empty_split_is_a_clear_error(tmp_path):
    rng = np.random.default_rng(0)
    write_pair(tmp_path, "train", "a_1", random_image(rng), striped_mask())
    pairs = find_pairs(tmp_path)

    with pytest.raises(DatasetError, match="val split would be empty"):
        split_pairs(pairs, FOLDERS)
    with pytest.raises(DatasetError, match="at least 3 groups"):
        split_pairs(pairs, GROUPED)


def test_numpy_loaders(tmp_path):
    gray = np.tile(np.arange(32, dtype=np.uint8) * 8, (24, 1))
    image_path = write_file(tmp_path / "gray.png", gray)
    mask_path = write_file(tmp_path / "mask.png", striped_mask(ids=(0, 13, 16)))

    image = load_image(image_path)
    labels = load_label_map(mask_path, size=(12, 64))

    assert image.shape == (24, 32, 3) and image.dtype == np.uint8
    assert np.array_equal(image[..., 0], gray) and np.array_equal(image[..., 2], gray)
    assert labels.shape == (12, 64) and set(np.unique(labels)) == {0, 13, 16}
    empty = Path(tmp_path / "empty.png")
    empty.touch()
    with pytest.raises(DatasetError, match="empty.png: empty file"):
        load_image(empty)
