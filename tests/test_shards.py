"""`facelib shards`: a small reference-layout dataset written as shards, read back exactly,
resumed, and fed to a Keras model for one training step."""

import json

import cv2
import numpy as np
import pytest
from fixtures.shards import BAD, TRAIN, VAL, write_noisy_reference

from facelib.core.errors import UsageError
from facelib.data.shards import read_shards, shard_files, shard_records, write_shards

SIZE = 32


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = write_noisy_reference(tmp_path_factory.mktemp("data"))
    out = tmp_path_factory.mktemp("shards") / "out"
    result = write_shards(root, out, size=SIZE, examples_per_shard=2, workers=2, progress=False)
    return root, out, result


def test_manifest_lists_shards_counts_and_left_out_pairs(shards):
    _, out, result = shards
    assert not result.ok and result.left_out == [BAD]  # a pair was left out
    manifest = json.loads((out / "shards.json").read_text())
    assert manifest["complete"] and manifest["size"] == SIZE
    assert manifest["counts"] == {"train": 5, "val": 2}
    assert manifest["left_out"] == [BAD] and manifest["problems"]
    assert [p.name for p in shard_files(out)] == [
        "train-00000-of-00003.tfrecord", "train-00001-of-00003.tfrecord",
        "train-00002-of-00003.tfrecord", "val-00000-of-00001.tfrecord"]
    records = shard_records(out)
    assert sorted(r["stem"] for r in records) == sorted(TRAIN + VAL)
    assert {r["stem"]: r["subject"] for r in records}["b_2"] == "b"
    assert {r["stem"]: r["folder"] for r in records}["d_1"] == "val"


def test_examples_read_back_as_the_folder_pipeline_sees_the_pairs(shards):
    import tensorflow as tf

    from facelib.core.params import load_defaults
    from facelib.core.scheme import ClassScheme
    from facelib.data.pipeline import load_pair_function

    root, out, _ = shards
    scheme = ClassScheme.from_params(load_defaults()["data"]["classes"])
    load_pair = load_pair_function(SIZE, "area", scheme)
    seen = set()
    for example in read_shards(out).as_numpy_iterator():
        stem, folder = example["stem"].decode(), example["folder"].decode()
        seen.add(stem)
        assert example["subject"].decode() == stem.split("_")[0]
        assert example["image"].shape == (SIZE, SIZE, 3) and example["image"].dtype == np.uint8
        assert example["mask"].shape == (SIZE, SIZE) and example["mask"].dtype == np.uint8
        image_path = root / folder / "image" / f"{stem}.jpg"
        mask_path = root / folder / "seg" / f"{stem}.png"
        # The mask keeps its source ids, resized with nearest neighbour ...
        mask = cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED)
        nearest = tf.image.resize(mask[..., None], (SIZE, SIZE), method="nearest")
        np.testing.assert_array_equal(example["mask"], nearest.numpy()[..., 0])
        # ... and both are exactly what the folder pipeline computes from the files.
        image, train_ids = load_pair(tf.constant(str(image_path)), tf.constant(str(mask_path)))
        np.testing.assert_array_equal(example["image"], image.numpy())
        np.testing.assert_array_equal(scheme.remap(example["mask"]), train_ids.numpy()[..., 0])
    assert seen == set(TRAIN + VAL)


def test_folder_and_stems_select_examples(shards):
    _, out, _ = shards
    val = [e["stem"].decode() for e in read_shards(out, folder="val").as_numpy_iterator()]
    assert sorted(val) == list(VAL)
    some = [e["stem"].decode() for e in read_shards(out, stems=["a_2", "d_1"])
            .as_numpy_iterator()]
    assert sorted(some) == ["a_2", "d_1"]
    assert list(read_shards(out, stems=[]).as_numpy_iterator()) == []
    with pytest.raises(UsageError, match="no shards of folder 'test'"):
        read_shards(out, folder="test")


def test_a_keras_model_trains_a_step_on_shard_batches(shards):
    """A softmax convolution starting from zero weights predicts 1/C everywhere: its
    cross-entropy is ln C, and one SGD step moves each class's bias by
    lr x (that class's share of the batch's pixels - 1/C)."""
    import tensorflow as tf

    from facelib.core.params import load_defaults
    from facelib.core.scheme import ClassScheme

    _, out, _ = shards
    scheme = ClassScheme.from_params(load_defaults()["data"]["classes"])
    table = tf.constant(scheme.lookup_table())

    def to_training(example):
        image = tf.cast(example["image"], tf.float32) / 255.0
        labels = tf.gather(table, tf.cast(example["mask"], tf.int32))
        return image, tf.one_hot(tf.cast(labels, tf.int32), scheme.n_classes)

    batches = read_shards(out, folder="train").map(to_training).batch(4)
    model = tf.keras.Sequential([
        tf.keras.Input((SIZE, SIZE, 3)),
        tf.keras.layers.Conv2D(scheme.n_classes, 3, padding="same", activation="softmax",
                               kernel_initializer="zeros", bias_initializer="zeros"),
    ])
    learning_rate = 0.1
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate),
                  loss="categorical_crossentropy")
    history = model.fit(batches, steps_per_epoch=1, epochs=1, verbose=0)

    assert history.history["loss"][0] == pytest.approx(np.log(scheme.n_classes), rel=1e-6)
    # The first batch: the first 4 train examples (shards are read in a fixed order).
    masks = [e["mask"] for e in read_shards(out, folder="train").take(4).as_numpy_iterator()]
    shares = np.bincount(scheme.remap(np.stack(masks)).ravel(),
                         minlength=scheme.n_classes) / (4 * SIZE * SIZE)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(bias, learning_rate * (shares - 1 / scheme.n_classes),
                               atol=1e-6)
    assert np.abs(kernel).max() > 0


def test_rerun_skips_written_shards_and_rewrites_missing_ones(shards, tmp_path, cli):
    root, out, _ = shards
    copy = tmp_path / "copy"
    write_shards(root, copy, size=SIZE, examples_per_shard=2, workers=1, progress=False)
    first = {p.name: p.read_bytes() for p in copy.glob("*.tfrecord")}
    assert first == {p.name: p.read_bytes() for p in out.glob("*.tfrecord")}  # deterministic
    (copy / "train-00001-of-00003.tfrecord").unlink()
    kept = (copy / "val-00000-of-00001.tfrecord").stat().st_mtime_ns
    printed = cli("shards", root, copy, "--size", SIZE, "--examples-per-shard", 2)
    assert printed.code == 1
    assert "3 already there; 1 pair(s) left out, 1 problem(s)" in printed.out
    assert f"{BAD}.png: label values outside the class scheme: 40 (1 px)" in printed.err
    assert (copy / "val-00000-of-00001.tfrecord").stat().st_mtime_ns == kept
    assert {p.name: p.read_bytes() for p in copy.glob("*.tfrecord")} == first
    with pytest.raises(UsageError, match="another dataset or size"):
        write_shards(root, copy, size=SIZE * 2, progress=False)


def test_unfinished_or_missing_shards_are_usage_errors(shards, tmp_path, cli):
    root, out, _ = shards
    done = cli("shards", tmp_path / "nothing", tmp_path / "x")
    assert done.code == 2
    assert "nothing: no such folder" in done.err
    with pytest.raises(UsageError, match="shards.json: not found"):
        read_shards(tmp_path)
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    manifest = json.loads((out / "shards.json").read_text())
    (unfinished / "shards.json").write_text(json.dumps({**manifest, "complete": False}))
    with pytest.raises(UsageError, match="unfinished"):
        shard_records(unfinished)
