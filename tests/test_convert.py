"""`facelib convert`: CelebAMask-HQ and LaPa fixtures written in their own layouts, converted
to the reference layout, checked pixel by pixel, validated, and resumed."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from fixtures.public import CELEBA_EXPECTED, lapa_label, photo, write_celebamask_hq, write_lapa

from facelib.core.errors import UsageError
from facelib.data.convert import convert


def read_pair(out: Path, folder: str, stem: str) -> tuple[np.ndarray, np.ndarray]:
    image = cv2.imread(str(out / folder / "image" / f"{stem}.jpg"), cv2.IMREAD_UNCHANGED)
    mask = cv2.imread(str(out / folder / "seg" / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
    return image, mask


def stems(out: Path, folder: str) -> list[str]:
    return sorted(p.stem for p in (out / folder / "seg").glob("*.png"))


def assert_valid(out: Path) -> None:
    from facelib.data.validate import validate_dataset

    report = validate_dataset(out, workers=1, progress=False)
    assert report.ok, report.problems


def test_celebamask_hq_parts_map_to_source_ids_in_painting_order(tmp_path):
    out = tmp_path / "out"
    result = convert("celebamask-hq", write_celebamask_hq(tmp_path / "src", False), out,
                     progress=False)
    assert (result.written, result.skipped, result.problems) == (4, 0, [])
    # Without CelebA's split and identity files: all in train, each photo its own subject.
    assert stems(out, "train") == ["00000_0", "00001_0", "00002_0", "02001_0"]
    assert stems(out, "val") == []
    image, mask = read_pair(out, "train", "02001_0")
    assert image.shape == (32, 32, 3) and mask.shape == (32, 32) and mask.dtype == np.uint8
    for (row, col), source_id in CELEBA_EXPECTED.items():
        assert mask[row, col] == source_id, (row, col)
    # The photo is shrunk to the masks' size with area interpolation.
    expected = cv2.resize(photo(64, 64, 2001), (32, 32), interpolation=cv2.INTER_AREA)
    assert np.abs(image.astype(int) - expected).mean() < 4
    assert_valid(out)


def test_celebamask_hq_official_split_and_identities(tmp_path):
    out = tmp_path / "out"
    convert("celebamask-hq", write_celebamask_hq(tmp_path / "src", True), out, progress=False)
    assert stems(out, "train") == ["7_00000", "7_00001"]
    assert stems(out, "val") == ["12_02001", "9_00002"]   # CelebA val and test
    assert_valid(out)


def test_lapa_ids_are_kept_and_test_goes_to_val_without_stem_clashes(tmp_path):
    out = tmp_path / "out"
    result = convert("lapa", write_lapa(tmp_path / "src"), out, progress=False)
    assert (result.written, result.problems) == (6, [])
    assert stems(out, "train") == ["100_0", "100_1"]
    assert stems(out, "val") == ["200_0", "300_0", "300_0_test", "400_0"]
    image, mask = read_pair(out, "val", "300_0_test")
    np.testing.assert_array_equal(mask, lapa_label(21))
    assert image.shape == (40, 48, 3)
    # A JPEG photo is copied byte for byte.
    assert (out / "val/image/300_0_test.jpg").read_bytes() == \
        (tmp_path / "src/test/images/300_0.jpg").read_bytes()
    assert_valid(out)


def test_resume_skips_finished_pairs_and_redoes_missing_ones(tmp_path):
    src, out = write_lapa(tmp_path / "src"), tmp_path / "out"
    convert("lapa", src, out, progress=False)
    again = convert("lapa", src, out, progress=False)
    assert (again.written, again.skipped) == (0, 6)
    (out / "train/seg/100_1.png").unlink()
    before = (out / "train/image/100_0.jpg").stat().st_mtime_ns
    again = convert("lapa", src, out, progress=False)
    assert (again.written, again.skipped) == (1, 5)
    assert (out / "train/seg/100_1.png").exists()
    assert (out / "train/image/100_0.jpg").stat().st_mtime_ns == before


def test_unreadable_files_are_reported_by_path_and_left_out(tmp_path, cli):
    src, out = write_lapa(tmp_path / "src"), tmp_path / "out"
    (src / "train/images/100_1.jpg").write_bytes(b"not a jpeg")
    cv2.imwrite(str(src / "val/labels/200_0.png"), np.full((40, 48), 12, np.uint8))
    done = cli("convert", "lapa", src, out)
    assert done.code == 1
    err = done.err
    assert "100_1.jpg: is not a readable image" in err
    assert "200_0.png: holds ids [12]" in err
    assert stems(out, "train") == ["100_0"]
    listed = (out / "convert_problems.txt").read_text()
    assert "100_1.jpg" in listed and "200_0.png" in listed


def test_summary_line_and_exit_code(tmp_path, cli):
    src, out = write_lapa(tmp_path / "src"), tmp_path / "out"
    done = cli("convert", "lapa", src, out)
    assert done.code == 0
    printed = done.out.strip().splitlines()
    assert printed == [f"lapa: 6 pairs written, 0 already there, 0 problem(s); {out} holds "
                       "2 train + 4 val pairs"]


@pytest.mark.parametrize("format", ["celebamask-hq", "lapa"])
def test_wrong_source_layouts_are_usage_errors(tmp_path, cli, format):
    done = cli("convert", format, tmp_path / "missing", tmp_path / "out")
    assert done.code == 2
    assert "missing: no such folder" in done.err
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="expected"):
        convert(format, tmp_path / "empty", tmp_path / "out", progress=False)


def test_refuses_to_mix_conversions_in_one_folder(tmp_path):
    out = tmp_path / "out"
    convert("lapa", write_lapa(tmp_path / "lapa"), out, progress=False)
    with pytest.raises(UsageError, match="already holds a conversion"):
        convert("celebamask-hq", write_celebamask_hq(tmp_path / "celeba", False), out,
                progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not written by facelib convert"):
        convert("lapa", tmp_path / "lapa", tmp_path / "other", progress=False)
