"""The same params give the same files, however busy the machine: two `facelib train` runs
of the demo's U-Net, at the same time, write byte-identical history.csv and metrics.json."""

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from fixtures.cli import facelib_command

ROOT = Path(__file__).resolve().parents[1]
MODEL = "unet_efficientnetb0"


def demo_unet_profile() -> dict:
    """The demo's U-Net recipe (128 px, face crops, Adam with cosine decay) for two epochs of
    12 steps, on the quick profile's small synthetic set."""
    demo = yaml.safe_load((ROOT / "params/demo.yaml").read_text())
    quick = yaml.safe_load((ROOT / "params/quick.yaml").read_text())
    entry = next(m for m in demo["models"] if f"{m['architecture']}_{m['backbone']}" == MODEL)
    return {
        "data": {**demo["data"], "synthetic": quick["data"]["synthetic"]},
        "models": [{**entry, "train": {**entry.get("train", {}), "epochs": 2}}],
        "model": demo["model"],
        "train": {**demo["train"], "steps_per_epoch": 12},
        "eval": {**demo["eval"], "example_count": 1},
    }


@pytest.mark.slow
def test_two_runs_at_the_same_time_write_identical_files(tmp_path):
    profile = tmp_path / "determinism.yaml"
    profile.write_text(yaml.safe_dump(demo_unet_profile(), sort_keys=False))
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1"}  # facelib's default; tests turn it off
    runs = {name: subprocess.Popen(
        [*facelib_command(), "train", str(profile), "--set", f"output_dir={tmp_path / name}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")}
    for name, run in runs.items():
        _, stderr = run.communicate(timeout=1800)  # a guard against a hang, not a speed limit
        assert run.returncode == 0, f"run {name} failed:\n{stderr[-3000:]}"
    for file in ("history.csv", "metrics.json"):
        a, b = (tmp_path / name / "runs" / MODEL / file for name in runs)
        assert a.read_bytes() == b.read_bytes(), (
            f"{file} differs between two runs of the same params at the same time:\n"
            f"{a.read_text()}\n---\n{b.read_text()}")
