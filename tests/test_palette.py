"""Palette PNG label maps (VOC-style annotation tools) are read by their indices everywhere:
discovery, validation, the tf.data pipeline and shards; colour-coded masks stay refused."""

import numpy as np
import pytest
from fixtures.folders import random_image, striped_mask, write_file, write_pair
from PIL import Image

from facelib.app.cli import main
from facelib.core.params import load_defaults
from facelib.core.scheme import ClassScheme
from facelib.data.discover import DatasetError, find_pairs, load_label_map
from facelib.data.validate import validate_dataset

# Palette colours that are nothing like the indices, so reading colours would be caught.
PALETTE = [200, 30, 90, 10, 250, 120, 77, 66, 55, 240, 240, 0, 1, 2, 3] * 52


def write_palette_png(path, indices: np.ndarray):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(indices, mode="P")
    image.putpalette(PALETTE[:768])
    image.save(path)
    assert Image.open(path).mode == "P"
    return path


def palette_dataset(root):
    rng = np.random.default_rng(0)
    masks = {}
    for i, folder in enumerate(("train", "train", "val")):
        stem = f"p{i}_0"
        write_file(root / folder / "image" / f"{stem}.png", random_image(rng))
        masks[stem] = striped_mask(ids=(0, 1, 4, 6, 7, 16))
        write_palette_png(root / folder / "seg" / f"{stem}.png", masks[stem])
    return masks


def test_load_label_map_reads_palette_indices(tmp_path):
    mask = striped_mask(ids=(0, 1, 4, 6, 7, 13))
    path = write_palette_png(tmp_path / "m.png", mask)
    np.testing.assert_array_equal(load_label_map(path), mask)
    np.testing.assert_array_equal(load_label_map(path, (12, 16)), mask[::2, ::2])


def test_validate_accepts_palette_masks_and_checks_their_ids(tmp_path):
    root = tmp_path / "data"
    palette_dataset(root)
    assert validate_dataset(root, progress=False).ok
    bad = striped_mask()
    bad[0, 0] = 42  # an index outside the scheme
    write_palette_png(root / "val" / "seg" / "p2_0.png", bad)
    report = validate_dataset(root, progress=False)
    assert [(p.path.endswith("p2_0.png"), p.problem) for p in report.problems] == [
        (True, "label values outside the class scheme: 42 (1 px)")]


def test_colour_coded_mask_is_refused_with_a_hint(tmp_path, capsys):
    root = tmp_path / "data"
    colour = np.dstack([striped_mask(), np.zeros((24, 32), np.uint8), striped_mask() * 3])
    _, mask = write_pair(root, "train", "c_0", random_image(np.random.default_rng(1)), colour)
    report = validate_dataset(root, progress=False)
    [problem] = [p for p in report.problems if p.path == str(mask)]
    assert "colour-coded mask" in problem.problem and "facelib convert" in problem.problem
    with pytest.raises(DatasetError, match="colour-coded mask"):
        load_label_map(mask)
    assert main(["validate", str(root)]) == 1
    assert "colour-coded mask" in capsys.readouterr().out


def test_pipeline_and_shards_read_palette_indices(tmp_path):
    from facelib.data.pipeline import make_dataset
    from facelib.data.shards import read_shards, write_shards

    root = tmp_path / "data"
    masks = palette_dataset(root)
    params = load_defaults()
    params["data"].update(image_size=32, cache=False)
    scheme = ClassScheme.from_params(params["data"]["classes"])
    pairs = find_pairs(root)
    batch = next(iter(make_dataset(pairs, params, training=False, batch_size=3)))
    got = np.argmax(batch[1].numpy(), axis=-1)
    expected = [scheme.remap(masks[p.stem]) for p in pairs]
    # 24x32 -> 32x32 nearest repeats rows; compare the ids present, row by row.
    for ids, truth in zip(got, expected, strict=True):
        assert set(np.unique(ids)) == set(np.unique(truth))
        np.testing.assert_array_equal(ids[0], truth[0])
    shards = tmp_path / "shards"
    assert write_shards(root, shards, size=32).ok  # a result since d87b2ac, no exit code
    for example in read_shards(shards).as_numpy_iterator():
        stem = example["stem"].decode()
        np.testing.assert_array_equal(example["mask"][0], masks[stem][0])
