"""`facelib convert`: CelebAMask-HQ and LaPa fixtures written in their own layouts, converted
to the reference layout, checked pixel by pixel, validated, and resumed."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from facelib.app.cli import main
from facelib.core.errors import UsageError
from facelib.data.convert import convert

CELEBA_IDS = (0, 1, 2, 2001)  # 2001 lives in annotation folder 1


def photo(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth random picture, so JPEG keeps it close to the original."""
    coarse = np.random.default_rng(seed).integers(0, 256, (4, 4, 3), dtype=np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)


def box(y0, y1, x0, x1, size=32) -> np.ndarray:
    part = np.zeros((size, size), np.uint8)
    part[y0:y1, x0:x1] = 255
    return part


# Binary part masks (32x32) of every fixture photo; rows 0-31, columns 0-31.
CELEBA_PARTS = {
    "skin": box(4, 28, 6, 26),
    "neck": box(24, 32, 10, 22),     # covers the skin's rows 24-27
    "hair": box(0, 8, 4, 28),        # covers the forehead's rows 4-7
    "l_eye": box(12, 15, 8, 12),
    "r_eye": box(12, 15, 20, 24),
    "eye_g": box(11, 16, 7, 13),     # glasses over the left eye only
    "nose": box(14, 20, 14, 18),
    "u_lip": box(21, 22, 12, 20),
    "mouth": box(22, 23, 12, 20),
    "l_lip": box(23, 24, 12, 20),
    "l_ear": box(12, 20, 26, 29),
    "ear_r": box(18, 24, 26, 29),    # an earring over the ear's lowest rows and below
}
# (row, column) -> source id expected after painting.
CELEBA_EXPECTED = {
    (5, 15): 10, (10, 8): 1, (26, 15): 0, (26, 7): 1, (13, 10): 16, (13, 21): 5, (16, 15): 6,
    (21, 15): 9, (22, 15): 8, (23, 15): 7, (15, 27): 13, (19, 27): 13, (22, 27): 0, (30, 2): 0,
}


def write_celebamask_hq(root: Path, identities: bool) -> Path:
    (root / "CelebA-HQ-img").mkdir(parents=True)
    for number in CELEBA_IDS:
        cv2.imwrite(str(root / "CelebA-HQ-img" / f"{number}.jpg"), photo(64, 64, number))
        folder = root / "CelebAMask-HQ-mask-anno" / str(number // 2000)
        folder.mkdir(parents=True, exist_ok=True)
        for part, mask in CELEBA_PARTS.items():
            cv2.imwrite(str(folder / f"{number:05d}_{part}.png"), mask)
    if identities:
        # HQ id -> CelebA file; CelebA file -> partition (0 train, 1 val, 2 test), identity.
        celeba = {0: 101, 1: 102, 2: 103, 2001: 104}
        (root / "CelebA-HQ-to-CelebA-mapping.txt").write_text(
            "idx orig_idx orig_file\n"
            + "".join(f"{hq} {c - 1} {c:06d}.jpg\n" for hq, c in celeba.items()))
        partition = {101: 0, 102: 0, 103: 1, 104: 2}
        (root / "list_eval_partition.txt").write_text(
            "".join(f"{c:06d}.jpg {p}\n" for c, p in partition.items()))
        identity = {101: 7, 102: 7, 103: 9, 104: 12}
        (root / "identity_CelebA.txt").write_text(
            "".join(f"{c:06d}.jpg {i}\n" for c, i in identity.items()))
    return root


LAPA_NAMES = {"train": ("100_0", "100_1"), "val": ("200_0", "300_0"), "test": ("400_0", "300_0")}


def lapa_label(seed: int, height=40, width=48) -> np.ndarray:
    label = np.zeros((height, width), np.uint8)
    for i in range(11):
        label[2 + 3 * i: 5 + 3 * i, 4 + seed % 5: 40] = i  # a band of every LaPa id
    return label


def write_lapa(root: Path) -> Path:
    for s, (split, names) in enumerate(LAPA_NAMES.items()):
        for n, name in enumerate(names):
            for kind in ("images", "labels"):
                (root / split / kind).mkdir(parents=True, exist_ok=True)
            seed = 10 * s + n
            cv2.imwrite(str(root / split / "images" / f"{name}.jpg"), photo(40, 48, seed))
            cv2.imwrite(str(root / split / "labels" / f"{name}.png"), lapa_label(seed))
    return root


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


def test_unreadable_files_are_reported_by_path_and_left_out(tmp_path, capsys):
    src, out = write_lapa(tmp_path / "src"), tmp_path / "out"
    (src / "train/images/100_1.jpg").write_bytes(b"not a jpeg")
    cv2.imwrite(str(src / "val/labels/200_0.png"), np.full((40, 48), 12, np.uint8))
    assert main(["convert", "lapa", str(src), str(out)]) == 1
    err = capsys.readouterr().err
    assert "100_1.jpg: is not a readable image" in err
    assert "200_0.png: holds ids [12]" in err
    assert stems(out, "train") == ["100_0"]
    listed = (out / "convert_problems.txt").read_text()
    assert "100_1.jpg" in listed and "200_0.png" in listed


def test_summary_line_and_exit_code(tmp_path, capsys):
    src, out = write_lapa(tmp_path / "src"), tmp_path / "out"
    assert main(["convert", "lapa", str(src), str(out)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed == [f"lapa: 6 pairs written, 0 already there, 0 problem(s); {out} holds "
                       "2 train + 4 val pairs"]


@pytest.mark.parametrize("format", ["celebamask-hq", "lapa"])
def test_wrong_source_layouts_are_usage_errors(tmp_path, capsys, format):
    assert main(["convert", format, str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert "missing: no such folder" in capsys.readouterr().err
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
