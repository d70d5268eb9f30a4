"""provenance.json: the data fingerprint, git state, machine, and the comparison's columns."""

import json
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
from fixtures.folders import make_dataset_folder

from facelib.core.errors import UsageError
from facelib.core.provenance import (
    PROVENANCE_FILE,
    cpu_info,
    fingerprint,
    git_state,
    package_versions,
    provenance,
    write_provenance,
)
from facelib.core.runs import Run
from facelib.data.discover import ShardPair, find_pairs, split_pairs
from facelib.data.fingerprint import data_fingerprint
from facelib.reports.compare import DifferentDataWarning, comparison_table

SPLIT = {"mode": "grouped", "val_fraction": 0.25, "test_fraction": 0.25, "seed": 1,
         "group_by": "subject"}
KEYS = {"facelib_version", "git_commit", "git_dirty", "packages", "python", "machine",
        "data_fingerprint", "params_sha256"}


def splits_of(root: Path) -> dict:
    return split_pairs(find_pairs(root), SPLIT)


@pytest.fixture
def dataset(tmp_path):
    return make_dataset_folder(tmp_path / "data", subjects=4, frames=2, size=(8, 8))


def test_fingerprint_is_stable_and_does_not_depend_on_the_folder(dataset, tmp_path):
    first = data_fingerprint(splits_of(dataset), dataset)
    assert first == data_fingerprint(splits_of(dataset), dataset)
    assert len(first) == 64 and int(first, 16) >= 0
    moved = shutil.copytree(dataset, tmp_path / "elsewhere")
    assert data_fingerprint(splits_of(moved), moved) == first


def test_one_changed_byte_changes_the_fingerprint(dataset):
    before = data_fingerprint(splits_of(dataset), dataset)
    mask = sorted(dataset.glob("*/seg/*.png"))[3]
    data = bytearray(mask.read_bytes())
    data[-20] ^= 0x01  # one bit of one byte inside the PNG
    mask.write_bytes(bytes(data))
    assert data_fingerprint(splits_of(dataset), dataset) != before


def test_renaming_a_file_changes_the_fingerprint(dataset):
    before = data_fingerprint(splits_of(dataset), dataset)
    image = dataset / "train/image/s00_1.png"
    image.rename(image.with_suffix(".PNG"))  # same pair, same bytes, another file name
    after = splits_of(dataset)
    assert sum(len(p) for p in after.values()) == 8
    assert data_fingerprint(after, dataset) != before


def test_another_split_of_the_same_files_changes_the_fingerprint(dataset):
    splits = splits_of(dataset)
    swapped = {"train": splits["val"], "val": splits["train"], "test": splits["test"]}
    assert data_fingerprint(swapped, dataset) != data_fingerprint(splits, dataset)


def test_shard_fingerprint_covers_the_manifest_and_the_shard_files(tmp_path):
    root = tmp_path / "shards"
    root.mkdir()
    (root / "shards.json").write_text('{"size": 8}')
    shard = root / "train-00000-of-00001.tfrecord"
    shard.write_bytes(b"\x00" * 100)
    splits = {"train": [ShardPair("a_0", "a", "train", shard)],
              "val": [ShardPair("b_0", "b", "train", shard)], "test": []}
    before = data_fingerprint(splits, root)
    shard.write_bytes(b"\x00" * 99 + b"\x01")
    changed_shard = data_fingerprint(splits, root)
    (root / "shards.json").write_text('{"size": 16}')
    changed_manifest = data_fingerprint(splits, root)
    assert len({before, changed_shard, changed_manifest}) == 3


def test_fingerprint_entries_are_length_prefixed(tmp_path):
    assert fingerprint([("a", b"bc")]) != fingerprint([("ab", b"c")])
    assert fingerprint([("a", b""), ("b", b"")]) != fingerprint([("a", b"\x01\0\0\0\0\0\0\0b")])


def test_an_unreadable_file_is_named(tmp_path):
    with pytest.raises(UsageError, match="gone.png"):
        fingerprint([("x", tmp_path / "gone.png")])


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_state_commit_and_dirty(tmp_path):
    assert git_state(tmp_path) == {"git_commit": None, "git_dirty": None}
    git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    git(tmp_path, "add", "code.py")
    git(tmp_path, "commit", "-q", "-m", "one")
    head = git(tmp_path, "rev-parse", "HEAD").strip()
    assert git_state(tmp_path) == {"git_commit": head, "git_dirty": False}
    (tmp_path / "untracked.txt").write_text("not part of the code\n")
    assert git_state(tmp_path)["git_dirty"] is False
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_state(tmp_path) == {"git_commit": head, "git_dirty": True}


def test_cpu_info_reads_model_and_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Some CPU 9000\n"
                       "flags\t\t: fpu sse2 avx2 fma avx512f avx512_bf16 amx_tile\n\n"
                       "processor\t: 1\nmodel name\t: Some CPU 9000\nflags\t\t: fpu\n")
    info = cpu_info(cpuinfo)
    assert info["cpu"] == "Some CPU 9000"
    assert info["cpu_flags"] == ["avx2", "fma", "avx512f", "avx512_bf16", "amx_tile"]
    assert info["cores"] >= 1


def test_record_has_the_keys_and_the_stack_versions():
    record = provenance("seed: 1\n", "ab" * 32, gpus=["GPU 0"])
    assert set(record) >= KEYS
    assert {"tensorflow", "tf-keras", "segmentation-models", "numpy", "papermill",
            "jupytext"} <= set(record["packages"])
    assert record["machine"]["gpus"] == ["GPU 0"]
    assert record["params_sha256"] != provenance("seed: 2\n", "ab" * 32)["params_sha256"]
    assert "not-a-package-facelib" not in package_versions(["not-a-package-facelib"])


def fake_run(folder: Path, name: str, data: str | None) -> Run:
    classes = ["background", "skin"]
    scores = {"precision": 0.5, "recall": 0.5, "f1": 0.5, "iou": 0.5}
    metrics = {"architecture": name, "backbone": "b", "classes": classes, "mean": scores,
               "mean_foreground": scores, "per_class": {c: scores for c in classes}}
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "params.yaml").write_text("seed: 1\n")
    if data is not None:
        write_provenance(folder, {"git_commit": "c" * 40, "git_dirty": True,
                                  "data_fingerprint": data})
    return Run.load(folder, name)


def test_comparison_shows_commit_and_data_and_warns_on_different_data(tmp_path):
    same = [fake_run(tmp_path / n, n, "d" * 64) for n in ("one", "two")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = comparison_table(same)
    assert list(table["git_commit"]) == ["c" * 12 + "+dirty"] * 2
    assert list(table["data_fingerprint"]) == ["d" * 12] * 2
    other = fake_run(tmp_path / "three", "three", "e" * 64)
    with pytest.warns(DifferentDataWarning, match="dddddddddddd: one, two; eeeeeeeeeeee: three"):
        comparison_table([*same, other])
    old = fake_run(tmp_path / "old", "old", None)
    assert not (old.folder / PROVENANCE_FILE).exists()
    with pytest.warns(DifferentDataWarning, match="unknown: old"):
        assert comparison_table([same[0], old])["git_commit"].isna().tolist() == [False, True]
