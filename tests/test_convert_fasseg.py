"""`facelib convert fasseg`: FASSEG fixtures in its upstream layout (BMP, `Train_Labels` and
`Train_labels`, pose folders) and the re-encoded one (JPEG, PNG), with blended label edges."""

import json

import cv2
import numpy as np
import pytest

from facelib.app.cli import main
from facelib.core.scheme import ClassScheme
from facelib.data.convert import convert
from facelib.data.discover import find_pairs, load_label_map
from facelib.data.validate import validate_dataset

# FASSEG's label colours (RGB) and the source ids they become.
BACKGROUND, HAIR, SKIN = (255, 0, 0), (127, 0, 0), (255, 255, 0)
EYES, NOSE, MOUTH = (0, 0, 255), (0, 255, 255), (0, 255, 0)
IDS = {BACKGROUND: 0, HAIR: 10, SKIN: 1, EYES: 4, NOSE: 6, MOUTH: 8}
H, W = 40, 36


def colour_label():
    """(RGB label with blended edges and slightly-off colours, expected ids, pixels that
    are not one of the six colours exactly)."""
    label = np.zeros((H, W, 3), np.uint8)
    ids = np.zeros((H, W), np.uint8)
    bands = [BACKGROUND, HAIR, SKIN, EYES, NOSE, MOUTH]
    for i, colour in enumerate(bands):  # six vertical bands of 6 columns
        label[:, 6 * i: 6 * i + 6] = colour
        ids[:, 6 * i: 6 * i + 6] = IDS[colour]
    # A blended edge: 3/4 hair + 1/4 background on column 6, nearer hair.
    label[:, 6] = (np.array(HAIR) * 0.75 + np.array(BACKGROUND) * 0.25).astype(np.uint8)
    # Skin painted one level off, as some upstream label images are.
    label[:20, 12:18] = (255, 255, 1)
    snapped = H + 20 * 6
    return label, ids, snapped


def photo(seed):
    coarse = np.random.default_rng(seed).integers(0, 256, (4, 4, 3), dtype=np.uint8)
    return cv2.resize(coarse, (W, H), interpolation=cv2.INTER_LINEAR)


def write(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def write_fasseg(root, photo_ext=".bmp", label_ext=".bmp"):
    """V1 and V2 (two frontal faces each, `Train_Labels`, one V2 test face), V3 (persons 1
    and 2 in two poses, `Train_labels`; person 8 in test, one pose unlabelled)."""
    label, _, _ = colour_label()
    for version in ("V1", "V2"):
        for n in (1, 2):
            write(root / version / "Train_RGB" / f"{n}{photo_ext}", photo(n))
            write(root / version / "Train_Labels" / f"{n}{label_ext}", label)
        write(root / version / "Test_RGB" / f"1{photo_ext}", photo(9))
        write(root / version / "Test_Labels" / f"1{label_ext}", label)
    for person in (1, 2):
        for pose in ("0", "-30"):
            name = f"personne{person:02d}146+0{pose if pose != '0' else '+0'}"
            write(root / "V3" / "Train_RGB" / pose / f"{name}{photo_ext}", photo(person))
            write(root / "V3" / "Train_labels" / pose / f"{name}{label_ext}", label)
    write(root / "V3" / "Test_RGB" / "0" / f"personne08146+0+0{photo_ext}", photo(8))
    write(root / "V3" / "Test_labels" / "0" / f"personne08146+0+0{label_ext}", label)
    write(root / "V3" / "Test_RGB" / "+15" / f"personne08146+0+15{photo_ext}", photo(8))
    return root


EXPECTED = {
    "train": ["frontal02-train-1_0", "frontal02-train-2_0", "personne01_146+0+0",
              "personne01_146+0-30", "personne02_146+0+0", "personne02_146+0-30"],
    "val": ["frontal02-test-1_0", "personne08_146+0+0"],
}


@pytest.mark.parametrize("photo_ext,label_ext", [(".bmp", ".bmp"), (".jpg", ".png")])
def test_layouts_convert_with_snapped_ids_stems_and_splits(tmp_path, photo_ext, label_ext):
    src = write_fasseg(tmp_path / "FASSEG", photo_ext, label_ext)
    out = tmp_path / "out"
    result = convert("fasseg", src, out, progress=False)
    assert result.problems == [] and result.written == 8
    _, ids, snapped = colour_label()
    for folder, stems in EXPECTED.items():
        assert sorted(p.stem for p in (out / folder / "seg").iterdir()) == stems
        for stem in stems:
            np.testing.assert_array_equal(load_label_map(out / folder / "seg" / f"{stem}.png"),
                                          ids, err_msg=stem)
            image = cv2.imread(str(out / folder / "image" / f"{stem}.jpg"))
            assert image.shape == (H, W, 3)
    record = json.loads((out / "conversion.json").read_text())
    assert record["pairs"] == 8
    assert record["snapped pixels"]["pixels"] == 8 * snapped
    assert record["snapped pixels"]["of"] == 8 * H * W
    assert record["snapped pixels"]["share"] == pytest.approx(snapped / (H * W))
    assert record["unlabelled test photos (not converted)"] == {"V3": 1}
    assert "V1" in record["ignored"]
    # Persons stay together: the subject is the part before the first underscore.
    assert {p.subject for p in find_pairs(out)} == {
        "frontal02-train-1", "frontal02-train-2", "frontal02-test-1",
        "personne01", "personne02", "personne08"}
    fasseg_scheme = ClassScheme.from_params({
        "background": {"ids": [0, 15, 17], "color": [0, 0, 0]},
        "hair": {"ids": [10, 2, 3], "color": [1, 1, 1]},
        "skin": {"ids": [1, 11, 12, 13, 14, 16], "color": [2, 2, 2]},
        "eyes": {"ids": [4, 5], "color": [3, 3, 3]},
        "nose": {"ids": [6], "color": [4, 4, 4]},
        "mouth": {"ids": [7, 8, 9], "color": [5, 5, 5]}})
    assert validate_dataset(out, fasseg_scheme, progress=False).ok
    assert validate_dataset(out, progress=False).ok  # the default scheme reads them too


def test_bad_files_are_reported_by_path_and_resume_keeps_the_record(tmp_path, capsys):
    src = write_fasseg(tmp_path / "FASSEG", ".jpg", ".png")
    not_a_label = src / "V3" / "Train_labels" / "0" / "personne02146+0+0.png"
    write(not_a_label, np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8))
    truncated = src / "V3" / "Train_labels" / "-30" / "personne02146+0-30.png"
    truncated.write_bytes(truncated.read_bytes()[:40])
    wrong_size = src / "V2" / "Train_Labels" / "2.png"
    write(wrong_size, colour_label()[0][:30])
    lonely = write(src / "V3" / "Train_RGB" / "0" / "personne03146+0+0.jpg", photo(3))
    out = tmp_path / "out"
    assert main(["convert", "fasseg", str(src), str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{not_a_label}: " in err and "far from all of FASSEG's six label colours" in err
    assert f"{truncated}: is not a readable image; left out" in err
    assert f"{wrong_size}: is 36x30, its photo is 36x40; left out" in err
    assert f"{lonely}: no label image; left out" in err
    assert len((out / "convert_problems.txt").read_text().splitlines()) == 4
    assert sorted(p.stem for p in (out / "train" / "seg").iterdir()) == [
        "frontal02-train-1_0", "personne01_146+0+0", "personne01_146+0-30"]
    first = json.loads((out / "conversion.json").read_text())
    # Resume: a lost output is written again, the others are kept; the record is the same.
    (out / "val" / "seg" / "personne08_146+0+0.png").unlink()
    result = convert("fasseg", src, out, progress=False)
    assert (result.written, result.skipped) == (1, 4)
    assert json.loads((out / "conversion.json").read_text()) == first


def test_not_a_fasseg_folder_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["convert", "fasseg", str(tmp_path / "empty"), str(tmp_path / "out")]) == 2
    assert "not a FASSEG folder" in capsys.readouterr().err
