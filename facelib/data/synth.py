"""The embedded synthetic face-parsing dataset: planning its samples and writing them.

The faces are drawn by `facelib.data.synth_faces`; this module decides which subject and
frame each sample is, seeds it, and writes the photos and masks in the reference layout.

Stems are `SUBJECT_FRAME`: a subject has a stable look seen in 3-6 frames with different
pose, lighting and background, and belongs to one split only. Every sample is seeded from
(seed, split, index), so a seed gives the same files whatever the number of workers.

Generator versions are kept apart (`data.synthetic.version`, in the cache folder's name):
version 2 draws one person per photo; version 3 draws the same photos except that about
one in five holds two or three people (the subject and passers-by of their own looks) and
one in five a small face (a face half-height of 10-20% of the photo's height).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from facelib.core.params import resolve_path
from facelib.data.synth_faces import (
    draw_people,
    draw_sample,
    group_poses,
    random_look,
    random_pose,
    small_face_pose,
)

GENERATOR_VERSION = 2  # the default; bump on any change to the files written for a seed
GENERATOR_VERSIONS = (2, 3)  # those that can be made
GROUP_SHARE, SMALL_SHARE = 0.2, 0.2  # version 3: photos of 2-3 people, and of a small face
SPLITS = ("train", "val")


@dataclass(frozen=True)
class SampleSpec:
    split: str
    index: int
    subject: int
    frame: int

    @property
    def stem(self) -> str:
        return f"{self.subject:04d}_{self.frame:04d}"


def plan_samples(n_train: int, n_val: int, seed: int) -> list[SampleSpec]:
    """Which subject and frame every sample is; subjects are drawn apart for each split."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    frames = {split: [] for split in SPLITS}
    for split, count in zip(SPLITS, (n_train, n_val), strict=True):
        while count > 0:
            frames[split].append(min(count, int(rng.integers(3, 7))))
            count -= frames[split][-1]
    n_subjects = len(frames["train"]) + len(frames["val"])
    subjects = iter(rng.choice(np.arange(1, max(10_000, 10 * n_subjects)), n_subjects,
                               replace=False))
    specs = []
    for split in SPLITS:
        index = 0
        for count in frames[split]:
            subject = int(next(subjects))
            for frame in range(1, count + 1):
                specs.append(SampleSpec(split, index, subject, frame))
                index += 1
    return specs


def render(spec: SampleSpec, seed: int):
    """The photo, label map and labels painted of one planned sample."""
    look = random_look(np.random.default_rng(np.random.SeedSequence([seed, 1, spec.subject])))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2, SPLITS.index(spec.split),
                                                        spec.index]))
    pose = random_pose(rng, portrait=spec.index % 2 == 0)
    return draw_sample(look, pose, rng) + (pose,)


def render_v3(spec: SampleSpec, seed: int):
    """Version 3 of `render`: the version-2 photo, or (drawn from a generator of its own) a
    photo of 2-3 people or of a small face."""
    layout = np.random.default_rng(np.random.SeedSequence([seed, 3, SPLITS.index(spec.split),
                                                           spec.index]))
    kind = layout.random()
    if kind >= GROUP_SHARE + SMALL_SHARE:
        return render(spec, seed)
    look = random_look(np.random.default_rng(np.random.SeedSequence([seed, 1, spec.subject])))
    pose = random_pose(layout, portrait=spec.index % 2 == 0)
    if kind < SMALL_SHARE:
        pose = small_face_pose(pose, layout)
        return draw_people([look], [pose], layout) + (pose,)
    poses = group_poses(pose, int(layout.integers(2, 4)), layout)
    looks = [look] + [random_look(layout) for _ in poses[1:]]
    order = layout.permutation(len(poses))  # the subject is anywhere in the row
    return draw_people([looks[i] for i in order], poses, layout) + (poses[0],)


def _write_sample(task) -> str:
    root, spec, seed, *version = task
    cv2.setNumThreads(1)
    image, mask, _, pose = (render_v3 if version == [3] else render)(spec, seed)
    folder = Path(root) / spec.split
    cv2.imwrite(str(folder / "image" / f"{spec.stem}.jpg"), image,
                [cv2.IMWRITE_JPEG_QUALITY, pose.jpeg_quality])
    cv2.imwrite(str(folder / "seg" / f"{spec.stem}.png"), mask)
    return spec.stem


def _generate(out: Path, n_train: int, n_val: int, seed: int, workers, progress,
              version: int = GENERATOR_VERSION) -> Path:
    """Write the dataset into a new temporary sibling of `out`; return that folder."""
    if version not in GENERATOR_VERSIONS:
        raise ValueError(f"synthetic dataset: no generator version {version}; "
                         f"versions: {', '.join(map(str, GENERATOR_VERSIONS))}")
    if n_train < 0 or n_val < 0 or n_train + n_val < 1:
        raise ValueError(f"synthetic dataset: need at least one pair, got train={n_train}, "
                         f"val={n_val}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=out.parent))
    try:
        for split in SPLITS:
            for kind in ("image", "seg"):
                (tmp / split / kind).mkdir(parents=True)
        tasks = [(str(tmp), spec, seed, version) for spec in plan_samples(n_train, n_val, seed)]
        workers = min(workers or os.cpu_count() or 1, len(tasks))
        show = sys.stderr.isatty() if progress is None else progress
        with tqdm(total=len(tasks), desc="synthetic faces", unit="pair", disable=not show) as bar:
            if workers == 1:
                for task in tasks:
                    _write_sample(task)
                    bar.update()
            else:
                with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                    for _ in pool.map(_write_sample, tasks, chunksize=4):
                        bar.update()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def _move_into_place(tmp: Path, out: Path) -> bool:
    """Rename `tmp` to `out` (an empty `out` is replaced); False if `out` has content."""
    try:
        if out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        os.rename(tmp, out)
        return True
    except OSError:
        if out.is_dir() and any(out.iterdir()):
            shutil.rmtree(tmp, ignore_errors=True)
            return False
        raise


def make_synthetic_dataset(out_dir, n_train: int = 80, n_val: int = 20, seed: int = 7,
                           workers: int | None = None, progress: bool | None = None,
                           version: int = GENERATOR_VERSION) -> Path:
    """Write `OUT/{train,val}/{image,seg}/SUBJECT_FRAME.{jpg,png}`; OUT must be new or empty.

    `workers`: processes (None: all cores); `progress`: tqdm bar (None: when stderr is a
    terminal). The files depend only on the counts, the seed and the generator `version`.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out}: already exists and is not an empty folder; choose a new one")
    tmp = _generate(out, n_train, n_val, seed, workers, progress, version)
    if not _move_into_place(tmp, out):
        raise ValueError(f"{out}: another process wrote into it meanwhile; nothing written")
    return out


def ensure_synthetic(params: dict, progress: bool | None = None) -> Path:
    """The embedded default dataset of `params["data"]["synthetic"]`, made on first use.

    It lives in `cache_dir/train{N}_val{M}_seed{S}_v{version}`; when two processes make it
    at once, the first rename wins and the other's copy is discarded.
    """

    spec = params["data"]["synthetic"]
    version = spec.get("version", GENERATOR_VERSION)
    name = f"train{spec['train']}_val{spec['val']}_seed{spec['seed']}_v{version}"
    target = resolve_path(spec["cache_dir"]) / name
    if target.is_dir() and any(target.iterdir()):
        return target
    tmp = _generate(target, spec["train"], spec["val"], spec["seed"], None, progress, version)
    _move_into_place(tmp, target)
    return target
