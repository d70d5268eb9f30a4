"""`data.source: shards`: CelebAMask-HQ and LaPa fixtures converted, validated, written as
shards and trained on for a step; folder and shards of one dataset split alike; incomplete
shard folders stop with one line; multi-worker auto-sharding gives each worker whole files."""

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml
from fixtures.public import write_celebamask_hq, write_lapa
from fixtures.shards import make_folder_and_shards

from facelib.app.runner import KERNEL
from facelib.core.params import load_params
from facelib.data.convert import convert
from facelib.data.shards import read_shards, shard_files, shard_pairs, write_shards
from facelib.data.sources import data_source
from facelib.data.validate import validate_dataset

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "params/quick.yaml"
SIZE = 32
# Source layouts; CelebAMask-HQ with CelebA's split and identities, so val/ is not empty.
WRITERS = {"celebamask-hq": lambda root: write_celebamask_hq(root, identities=True),
           "lapa": write_lapa}


def shard_params(root: Path, out: Path, strategy: str) -> dict:
    """One small DeepLabV3+ on shards of SIZE px, one step of one epoch; without op
    determinism, which would stay on for the rest of the test session."""
    return load_params(QUICK, overrides={
        "output_dir": str(out),
        "data": {"source": "shards", "root": str(root), "image_size": SIZE,
                 "split": {"mode": "folders"}},
        "models": [{"architecture": "deeplabv3plus", "backbone": "resnet18"}],
        "train": {"epochs": 1, "steps_per_epoch": 1, "batch_size": 2, "deterministic": False,
                  "strategy": strategy},
        "eval": {"batch_size": 4},
    })


def train(params: dict, tmp_path: Path, facelib_cmd) -> Path:
    """The run folder of `facelib.train(params)`; multiworker runs `facelib train` in a
    process of its own (the strategy must come before any other TensorFlow work)."""
    import facelib

    if params["train"]["strategy"] != "multiworker":
        [run] = facelib.train(params)
        return run.folder
    path = tmp_path / "shards.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    facelib_cmd("train", path)
    return Path(params["output_dir"]) / "runs/deeplabv3plus_resnet18"


def score(true_dir: Path, pred_dir: Path, cli) -> dict:
    done = cli("score", true_dir, pred_dir, "--json")
    assert done.code == 0, done.err
    return json.loads(done.out)


# LaPa goes through `facelib train` under MultiWorkerMirroredStrategy: one worker, whose
# SHARD_HINT placeholders are replaced as on a cluster.
@pytest.mark.slow
@pytest.mark.parametrize("source, strategy", [("celebamask-hq", "default"),
                                              ("lapa", "multiworker")])
def test_converted_dataset_trains_a_step_from_its_shards(source, strategy, tmp_path, cli,
                                                         facelib_cmd):
    from facelib.reports.examples import example_photos, test_pairs

    data = tmp_path / "data"
    assert convert(source, WRITERS[source](tmp_path / "src"), data, progress=False).problems == []
    assert validate_dataset(data, workers=1, progress=False).ok
    shards = tmp_path / "shards"
    assert write_shards(data, shards, size=SIZE, workers=1, progress=False).ok

    params = shard_params(shards, tmp_path / "out", strategy)
    run = train(params, tmp_path, facelib_cmd)

    assert pd.read_csv(run / "history.csv")["epoch"].tolist() == [0]
    split = pd.read_csv(run / "split.csv", dtype=str)
    assert all(Path(f).parent == shards and f.endswith(".tfrecord") for f in split["shard"])
    test = test_pairs(run)
    assert list(test["stem"]) == sorted(p.stem for p in shard_pairs(shards) if p.folder == "val")
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(json.loads((run / "provenance.json").read_text())["data_fingerprint"]) == 64
    assert metrics["evaluated_at"] == "shard size" and metrics["n_images"] == len(test)
    predictions = run / "test_predictions"
    assert sorted(p.stem for p in predictions.iterdir()) == list(test["stem"])
    scored = score(shards, predictions, cli)
    assert scored["n_images"] == metrics["n_images"]
    for key in ("mean", "mean_foreground"):
        for name, value in metrics[key].items():
            assert scored[key][name] == pytest.approx(value, abs=1e-9)
    # 04_predict's photos: the shards' photos of the first test subjects, as files.
    photos = example_photos(params, run, 2, tmp_path / "photos")
    assert [Path(p).stem for p in photos] == list(test.drop_duplicates("subject")["stem"][:2])
    # ... written losslessly: the very pixels of the shard examples.
    [first] = read_shards(shards, stems=[Path(photos[0]).stem]).as_numpy_iterator()
    np.testing.assert_array_equal(cv2.imread(photos[0])[..., ::-1], first["image"])


def source_params(source: str, root: Path, strategy: str = "default", **data) -> dict:
    return load_params(QUICK, overrides={
        "data": {"source": source, "root": str(root), "image_size": SIZE, **data},
        "train": {"strategy": strategy},
    })


@pytest.mark.parametrize("mode", ["grouped", "folders"])
def test_folder_and_its_shards_split_alike(tmp_path, mode):
    from facelib.data.sources import load_splits

    data, shards = make_folder_and_shards(tmp_path, SIZE, subjects=10, frames=3, bad="s04_1")
    split = {"mode": mode}
    from_folder = load_splits(source_params("folder", data, on_bad_sample="skip", split=split),
                              skipped_report=tmp_path / "folder_skipped.txt")
    from_shards = load_splits(source_params("shards", shards, split=split),
                              skipped_report=tmp_path / "shards_skipped.txt")
    stems = {name: [p.stem for p in pairs] for name, pairs in from_folder.items()}
    assert stems == {name: [p.stem for p in pairs] for name, pairs in from_shards.items()}
    assert all(stems.values()) and "s04_1" not in sum(stems.values(), [])
    assert {p.shard.parent for p in from_shards["train"]} == {shards}
    assert (tmp_path / "shards_skipped.txt").read_text() == \
        (tmp_path / "folder_skipped.txt").read_text()


def test_incomplete_or_missing_shards_stop_training_with_one_line(tmp_path, cli):
    data, shards = make_folder_and_shards(tmp_path, SIZE)
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    manifest = json.loads((shards / "shards.json").read_text())
    (unfinished / "shards.json").write_text(json.dumps({**manifest, "complete": False}))
    gap = tmp_path / "gap"
    gap.mkdir()
    for path in shards.iterdir():
        (gap / path.name).write_bytes(path.read_bytes())
    shard_files(gap)[1].unlink()
    cases = [
        (data, SIZE, "shards.json: not found; is"),
        (tmp_path / "nowhere", SIZE, "no such folder"),
        (unfinished, SIZE, "the shards are unfinished; run `facelib shards` again"),
        (gap, SIZE, "train-00001-of-00006.tfrecord: missing (1 shard file(s) missing)"),
        (shards, 64, f"data.image_size = 64, but the shards in {shards} hold 32x32 pairs"),
    ]
    for root, size, message in cases:
        done = cli("train", QUICK, "--set", "data.source=shards", "--set", f"data.root={root}",
                   "--set", f"data.image_size={size}", "--set", f"output_dir={tmp_path / 'out'}",
                   "--force")
        code, err = done.code, done.err
        assert code == 2 and message in err and "Traceback" not in err, (root, err)
        assert err.startswith("facelib train: ") and err.count("\n") == 1, err


def stems_of(dataset, names: dict[bytes, str]) -> list[str]:
    """The stems of the photos of (images, onehot) batches, found by their pixels."""
    return [names[image.astype(np.uint8).tobytes()]
            for images, _ in dataset.as_numpy_iterator() for image in images]


def worker_stems(pairs, params, training, names) -> list[list[str]]:
    """The stems each of two workers gets from `make_dataset`, auto-sharded as
    MultiWorkerMirroredStrategy does; a pipeline per worker, as on two machines. Training
    batches are sharded (HINT), validation batches are not (OFF): every worker gets all."""
    import tensorflow as tf
    from tensorflow.python.data.experimental.ops.distribute import _AutoShardDataset

    from facelib.data.pipeline import make_dataset

    policy = tf.data.experimental.AutoShardPolicy
    workers = []
    for index in range(2):
        dataset = make_dataset(pairs, params, training=training, batch_size=1,
                               source=data_source(params))
        assert (dataset.options().experimental_distribute.auto_shard_policy
                == (policy.HINT if training else policy.OFF))
        workers.append(stems_of(_AutoShardDataset(dataset, num_workers=2, index=index), names))
    return workers


def test_multiworker_gives_each_worker_whole_shard_files_or_its_share_of_pairs(tmp_path):
    import tensorflow as tf

    from facelib.data.pipeline import make_dataset
    from facelib.data.shards import read_pairs
    from facelib.data.sources import load_splits

    data, shards = make_folder_and_shards(tmp_path, SIZE, subjects=12)
    # training batches keep the photos' pixels
    still = {"hflip": False, "rotate_degrees": 0.0, "scale": 0.0, "brightness": 0.0,
             "contrast": 0.0, "saturation": 0.0, "hue": 0.0}
    params = source_params("shards", shards, "multiworker", augment=still)
    pairs = load_splits(params)["train"]
    names = {e["image"].tobytes(): e["stem"].decode()
             for e in read_pairs(pairs).as_numpy_iterator()}
    file_of = {p.stem: p.shard.name for p in pairs}
    workers = worker_stems(pairs, params, True, names)
    assert sorted(workers[0] + workers[1]) == sorted(file_of)
    files = [{file_of[stem] for stem in worker} for worker in workers]
    assert files[0] and files[1] and not files[0] & files[1], files
    assert [sorted(w) for w in worker_stems(pairs, params, False, names)] == [sorted(file_of)] * 2

    folder_params = source_params("folder", data, "multiworker", augment=still)
    folder_pairs = load_splits(folder_params)["train"]
    stems = sorted(p.stem for p in folder_pairs)
    workers = worker_stems(folder_pairs, folder_params, True, names)
    assert sorted(workers[0] + workers[1]) == stems
    assert workers[0] and workers[1] and not set(workers[0]) & set(workers[1])
    assert [sorted(w) for w in worker_stems(folder_pairs, folder_params, False, names)] \
        == [stems] * 2

    one_machine_params = source_params("shards", shards)
    one_machine = make_dataset(pairs, one_machine_params, training=False,
                               source=data_source(one_machine_params))
    assert (one_machine.options().experimental_distribute.auto_shard_policy
            == tf.data.experimental.AutoShardPolicy.OFF)
    assert sorted(stems_of(one_machine, names)) == sorted(file_of)


@pytest.mark.slow
@pytest.mark.notebook
def test_data_analysis_reads_shards_as_it_reads_their_folder(tmp_path):
    import nbformat
    import papermill

    from facelib.core.scheme import ClassScheme
    from facelib.data.sources import FolderSource, ShardSource

    data, shards = make_folder_and_shards(tmp_path, SIZE, bad="s04_1")
    folder, sharded = source_params("folder", data), source_params("shards", shards)
    from_folder, from_shards = data_source(folder), data_source(sharded)
    assert isinstance(from_folder, FolderSource) and isinstance(from_shards, ShardSource)
    scheme = ClassScheme.from_params(folder["data"]["classes"])
    report = from_shards.report().summary()
    assert report == from_folder.report(scheme, progress=False).summary()
    assert "s04_1.png: label values outside the class scheme: 40 (1 px)" in report
    good = [p for p in from_folder.pairs() if p.stem != "s04_1"]
    pairs = from_shards.pairs()
    expected = from_folder.class_shares(good, scheme, progress=False)
    got = from_shards.class_shares(pairs, scheme)
    pd.testing.assert_frame_equal(got.sort_values("stem", ignore_index=True),
                                  expected.sort_values("stem", ignore_index=True))
    samples = from_shards.picture_samples(pairs, n=3, seed=0)
    assert len(samples) == 3
    for stem, image, mask in samples:
        [image_path] = data.glob(f"*/image/{stem}.png")
        np.testing.assert_array_equal(image, cv2.imread(str(image_path))[..., ::-1])
        np.testing.assert_array_equal(
            mask, cv2.imread(str(image_path.parents[1] / "seg" / f"{stem}.png"), 0))

    executed = tmp_path / "01_data_analysis.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks/01_data_analysis.ipynb"), str(executed), kernel_name=KERNEL,
        parameters={"profile": str(QUICK), "overrides": {"data": sharded["data"]}},
        progress_bar=False)
    printed = "".join(output.get("text", "") for cell in nbformat.read(executed, 4).cells
                      for output in cell.get("outputs", []))
    assert report in printed and f"{len(pairs)} pairs, 8 subjects" in printed
