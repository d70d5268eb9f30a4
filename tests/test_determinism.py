"""The same params give the same files, however busy the machine: two `facelib train` runs
of the demo's U-Net and DeepLabV3+, at the same time, write byte-identical history.csv and
metrics.json."""

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from fixtures.cli import facelib_command

ROOT = Path(__file__).resolve().parents[1]
# U-Net's differed through Grappler's AddN sums, DeepLabV3+'s through AtrousConv2D's gradient.
MODELS = ("unet_efficientnetb0", "deeplabv3plus_efficientnetb0")


def demo_profile() -> dict:
    """The demo's U-Net and DeepLabV3+ (128 px, face crops, Adam with cosine decay) for two
    epochs of 5 steps, on the quick profile's small synthetic set."""
    demo = yaml.safe_load((ROOT / "params/demo.yaml").read_text())
    quick = yaml.safe_load((ROOT / "params/quick.yaml").read_text())
    entries = [m for m in demo["models"] if f"{m['architecture']}_{m['backbone']}" in MODELS]
    assert len(entries) == len(MODELS)
    return {
        "data": {**demo["data"], "synthetic": quick["data"]["synthetic"]},
        "models": [{**m, "train": {**m.get("train", {}), "epochs": 2}} for m in entries],
        "model": demo["model"],
        "train": {**demo["train"], "steps_per_epoch": 5},
        "eval": {**demo["eval"], "example_count": 1},
    }


@pytest.mark.slow
def test_two_runs_at_the_same_time_write_identical_files(tmp_path):
    profile = tmp_path / "determinism.yaml"
    profile.write_text(yaml.safe_dump(demo_profile(), sort_keys=False))
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1"}  # facelib's default; tests turn it off
    runs = {name: subprocess.Popen(
        [*facelib_command(), "train", str(profile), "--set", f"output_dir={tmp_path / name}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")}
    for name, run in runs.items():
        _, stderr = run.communicate(timeout=1800)  # a guard against a hang, not a speed limit
        assert run.returncode == 0, f"run {name} failed:\n{stderr[-3000:]}"
    for model in MODELS:
        for file in ("history.csv", "metrics.json"):
            a, b = (tmp_path / name / "runs" / model / file for name in runs)
            assert a.read_bytes() == b.read_bytes(), (
                f"{model}/{file} differs between two runs of the same params at the same "
                f"time:\n{a.read_text()}\n---\n{b.read_text()}")
