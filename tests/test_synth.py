import dataclasses
import hashlib
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from facelib.core.params import load_defaults
from facelib.core.scheme import LEFT_RIGHT_PAIRS, N_SOURCE_IDS, ClassScheme, SourceId
from facelib.data import synth
from facelib.data.crops import face_boxes
from facelib.data.synth import (
    GENERATOR_VERSION,
    ensure_synthetic,
    make_synthetic_dataset,
    plan_samples,
    render,
)
from facelib.data.synth_faces import Canvas, draw_sample, ellipse, random_look, random_pose

SCHEME = ClassScheme.from_params(load_defaults()["data"]["classes"])


def files(root: Path, pattern: str) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob(pattern))}


def read_mask(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """The documented default size: 80 train + 20 val pairs, seed 7."""
    return make_synthetic_dataset(tmp_path_factory.mktemp("synth") / "faces", 80, 20, seed=7,
                                  workers=2, progress=False)


@pytest.mark.slow  # the 100-face fixture
def test_layout_and_pairing(dataset):
    assert sorted(p.name for p in dataset.iterdir()) == ["train", "val"]
    for split, count in (("train", 80), ("val", 20)):
        images = sorted((dataset / split / "image").iterdir())
        masks = sorted((dataset / split / "seg").iterdir())
        assert len(images) == len(masks) == count
        assert [p.stem for p in images] == [p.stem for p in masks]
        assert all(p.suffix == ".jpg" for p in images) and all(p.suffix == ".png" for p in masks)
        for image, mask in zip(images[:5], masks[:5], strict=True):
            photo, labels = cv2.imread(str(image)), read_mask(mask)
            assert labels.ndim == 2 and labels.dtype == np.uint8
            assert photo.shape[:2] == labels.shape
            subject, frame = image.stem.split("_")
            assert len(subject) == len(frame) == 4
    assert not list(dataset.parent.glob("*.tmp-*"))


@pytest.mark.slow  # the 100-face fixture
def test_sizes_and_both_orientations(dataset):
    shapes = [read_mask(p).shape for p in dataset.glob("*/seg/*.png")]
    assert all(320 <= side <= 900 for shape in shapes for side in shape)
    assert any(h > w for h, w in shapes) and any(w > h for h, w in shapes)


@pytest.mark.slow  # the 100-face fixture
def test_every_target_class_appears_and_ids_are_source_ids(dataset):
    seen = set()
    for path in dataset.glob("*/seg/*.png"):
        mask = read_mask(path)
        assert mask.max() < N_SOURCE_IDS
        seen |= set(np.unique(SCHEME.remap(mask)).tolist())
    assert seen == set(range(SCHEME.n_classes))


FACE_IDS = [SourceId.FACE_SKIN, SourceId.LEFT_EYEBROW, SourceId.RIGHT_EYEBROW, SourceId.LEFT_EYE,
            SourceId.RIGHT_EYE, SourceId.NOSE, SourceId.LOWER_LIP, SourceId.MOUTH_INTERIOR,
            SourceId.UPPER_LIP, SourceId.LEFT_EYELID, SourceId.RIGHT_EYELID]
SIDED_IDS = {i for pair in LEFT_RIGHT_PAIRS for i in pair}  # eyebrows, eyes, eyelids, ears
# sha256 of the stems and label maps of `plan_samples(3, 2, seed=7)`, drawn at GENERATOR_VERSION
LABEL_MAPS_SHA256 = {2: "f074a5357d11a44f6421ac601b1c6aca827dc236bd150a7b9c8dfc52f818c70c"}


@pytest.mark.slow  # the 100-face fixture
def test_faces_fill_a_fair_part_of_the_photo(dataset):
    for path in dataset.glob("*/seg/*.png"):
        mask = read_mask(path)
        rows = np.flatnonzero(np.isin(mask, FACE_IDS).any(axis=1))
        assert 0.25 < (rows[-1] - rows[0] + 1) / mask.shape[0] < 0.8, path.name


@pytest.mark.slow  # the 100-face fixture
def test_subjects_have_several_frames_and_one_split(dataset):
    subjects = {
        split: [p.stem.split("_")[0] for p in (dataset / split / "seg").iterdir()]
        for split in ("train", "val")
    }
    assert not set(subjects["train"]) & set(subjects["val"])
    counts = np.unique(subjects["train"], return_counts=True)[1]
    assert counts.max() >= 3 and counts.mean() > 2.5


@pytest.mark.slow  # spawns worker processes
def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    one = make_synthetic_dataset(tmp_path / "one", 6, 3, seed=3, workers=1, progress=False)
    two = make_synthetic_dataset(tmp_path / "two", 6, 3, seed=3, workers=2, progress=False)
    assert files(one, "*/seg/*") == files(two, "*/seg/*")
    assert files(one, "*/image/*") == files(two, "*/image/*")


def test_another_seed_gives_another_dataset(tmp_path):
    a = make_synthetic_dataset(tmp_path / "a", 4, 2, seed=3, workers=1, progress=False)
    b = make_synthetic_dataset(tmp_path / "b", 4, 2, seed=4, workers=1, progress=False)
    assert sorted(files(a, "*/seg/*").values()) != sorted(files(b, "*/seg/*").values())


def test_refuses_a_non_empty_folder_and_bad_counts(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an empty folder"):
        make_synthetic_dataset(out, 2, 1, workers=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    with pytest.raises(ValueError, match="at least one pair"):
        make_synthetic_dataset(tmp_path / "none", 0, 0, workers=1)
    assert not (tmp_path / "none").exists()


def test_an_empty_folder_is_filled(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    make_synthetic_dataset(out, 2, 1, workers=1, progress=False)
    assert len(list(out.glob("*/seg/*.png"))) == 3


def test_a_failure_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(task):
        raise RuntimeError("disk full")

    monkeypatch.setattr(synth, "_write_sample", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        make_synthetic_dataset(tmp_path / "out", 2, 1, workers=1)
    assert list(tmp_path.iterdir()) == []


def synthetic_params(cache_dir: Path) -> dict:
    params = load_defaults()
    params["data"]["synthetic"] = {"train": 3, "val": 1, "seed": 5, "cache_dir": str(cache_dir)}
    return params


def test_ensure_synthetic_makes_once_then_reuses(tmp_path, monkeypatch):
    params = synthetic_params(tmp_path / "cache")
    root = ensure_synthetic(params, progress=False)
    assert root == tmp_path / "cache" / f"train3_val1_seed5_v{GENERATOR_VERSION}"
    assert len(list(root.glob("*/image/*.jpg"))) == 4

    def must_not_run(*args, **kwargs):
        raise AssertionError("generated again")

    monkeypatch.setattr(synth, "_generate", must_not_run)
    assert ensure_synthetic(params) == root


def test_ensure_synthetic_keeps_the_copy_that_arrived_first(tmp_path, monkeypatch):
    params = synthetic_params(tmp_path / "cache")
    generate = synth._generate

    def racing(out, *args):
        tmp = generate(out, *args)
        (out / "train").mkdir(parents=True)  # another process renamed its copy meanwhile
        (out / "train" / "winner").write_text("first")
        return tmp

    monkeypatch.setattr(synth, "_generate", racing)
    root = ensure_synthetic(params, progress=False)
    assert (root / "train" / "winner").read_text() == "first"
    assert [p.name for p in root.parent.iterdir()] == [root.name]


def frontal_sample(**look_changes):
    rng = np.random.default_rng(11)
    look = dataclasses.replace(random_look(rng), hair_style="short", ears_hidden=False,
                               covering=None, **look_changes)
    pose = dataclasses.replace(random_pose(rng, portrait=True), yaw=0.0, roll=0.0, pitch=0.0)
    image, mask, labels = draw_sample(look, pose, rng)
    return image, mask, labels, pose


def test_masks_are_hard_and_left_is_the_persons_left():
    image, mask, labels, pose = frontal_sample(glasses=None)
    assert set(np.unique(mask).tolist()) <= labels
    assert SIDED_IDS.issubset(set(np.unique(mask).tolist()))
    assert image.shape[:2] == mask.shape

    def centre_x(label):
        return np.argwhere(mask == label)[:, 1].mean()

    for left, right in LEFT_RIGHT_PAIRS:
        assert centre_x(left) > pose.center[0] > centre_x(right)
    flipped = mask[:, ::-1]
    assert np.argwhere(flipped == SourceId.LEFT_EYE)[:, 1].mean() < pose.center[0]


def test_paint_is_anti_aliased_in_the_photo_and_hard_in_the_mask():
    rng = np.random.default_rng(0)
    pose = dataclasses.replace(random_pose(rng, portrait=False), roll=0.3)
    canvas = Canvas(np.zeros((pose.height, pose.width, 3), np.float32), random_look(rng), pose)
    canvas.paint(ellipse(0, 0, 0.5, 0.3), SourceId.NOSE, (255, 255, 255))
    assert set(np.unique(canvas.mask).tolist()) == {SourceId.BACKGROUND, SourceId.NOSE}
    partial = (canvas.image[..., 0] > 5) & (canvas.image[..., 0] < 250)
    assert partial.sum() > 20
    inside = (canvas.mask == SourceId.NOSE).astype(np.uint8)
    to_edge = np.maximum(cv2.distanceTransform(inside, cv2.DIST_L2, 3),
                         cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3))
    assert to_edge[partial].max() <= 2  # soft only along the mask's edge


def test_glasses_cover_the_eyes_region():
    _, mask, _, _ = frontal_sample(glasses="clear")
    eyes_ids = [SourceId.LEFT_EYE, SourceId.RIGHT_EYE]
    glasses = np.argwhere(mask == SourceId.GLASSES)
    eyes = np.argwhere(np.isin(mask, eyes_ids))
    assert len(glasses) and len(eyes)
    assert glasses[:, 1].min() < eyes[:, 1].min() and glasses[:, 1].max() > eyes[:, 1].max()
    _, sunglasses, _, _ = frontal_sample(glasses="sun")
    assert not np.isin(sunglasses, eyes_ids).any()


def test_plan_splits_subjects_apart():
    specs = plan_samples(40, 15, seed=1)
    assert [s.split for s in specs].count("val") == 15
    train = {s.subject for s in specs if s.split == "train"}
    val = {s.subject for s in specs if s.split == "val"}
    assert train and val and not train & val
    assert len({s.stem for s in specs}) == len(specs)


def test_the_drawing_is_pinned_to_the_generator_version():
    """A change to what is drawn must bump GENERATOR_VERSION (which names the cached datasets)
    and record the new digest here."""
    digest = hashlib.sha256()
    for spec in plan_samples(3, 2, seed=7):
        _, mask, _, _ = render(spec, 7)
        digest.update(spec.stem.encode())
        digest.update(np.ascontiguousarray(mask).tobytes())
    assert digest.hexdigest() == LABEL_MAPS_SHA256.get(GENERATOR_VERSION), (
        "the synthetic label maps changed: bump synth.GENERATOR_VERSION and record the digest")


def test_no_tensorflow_import():
    code = ("import sys, facelib.data.synth, facelib.data.synth_faces; "
            "sys.exit('tensorflow' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_version_3_adds_groups_and_small_faces_and_keeps_the_other_photos():
    kinds = {"same": 0, "group": 0, "small": 0}
    for spec in plan_samples(30, 0, seed=7):
        image, mask, _, _ = synth.render_v3(spec, 7)
        boxes = face_boxes(SCHEME.remap(mask))
        plain = synth.render(spec, 7)
        if np.array_equal(plain[0], image) and np.array_equal(plain[1], mask):
            kinds["same"] += 1
            assert len(boxes) == 1
        elif len(boxes) > 1:
            kinds["group"] += 1
            assert len(boxes) in (2, 3)
        else:
            kinds["small"] += 1
            x0, y0, x1, y1 = boxes[0]
            assert (y1 - y0) / mask.shape[0] < 0.45  # face extent ~2 half-heights of 10-20%
    assert kinds["same"] >= 10 and kinds["group"] >= 3 and kinds["small"] >= 3, kinds


def test_generator_versions_have_their_own_cache_folders(tmp_path):
    params = load_defaults()
    params["data"]["synthetic"] = {"train": 3, "val": 1, "seed": 5, "version": 3,
                                   "cache_dir": str(tmp_path / "cache")}
    assert ensure_synthetic(params, progress=False).name == "train3_val1_seed5_v3"
    with pytest.raises(ValueError, match="no generator version 4"):
        make_synthetic_dataset(tmp_path / "v4", 2, 1, workers=1, version=4)
