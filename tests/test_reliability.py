"""A long run is not lost to a bad file, a typo or a Ctrl-C (reruns: test_determinism.py)."""

import json
import math
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from fixtures.cli import facelib_command
from fixtures.folders import synthetic_with_a_bad_mask

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "params/quick.yaml"
TINY = ROOT / "params/sweep-quick.yaml"  # one small U-Net, two steps


@pytest.mark.parametrize("make_error", [
    # Two workers: the one stopped first aborts the other's collectives, and its TensorFlow
    # status check raises on the way out in place of its own KeyboardInterrupt.
    lambda tf: tf.errors.UnavailableError(None, None, "Collective ops is aborted by: The "
                                          "tasks have crashed"),
    # Raised inside a C++ call that calls back into Python (model.save), the KeyboardInterrupt
    # comes out as that call's SystemError.
    lambda tf: SystemError("IsNested returned a result with an exception set"),
], ids=["aborted-collective", "save-systemerror"])
def test_an_error_after_the_stop_signal_is_the_interruption(make_error):
    import tensorflow as tf

    from facelib.engine.training import _stop_on_signals

    error = make_error(tf)
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt) as stopped:
        with _stop_on_signals():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(10)  # the handler raises KeyboardInterrupt here
            except KeyboardInterrupt:
                raise error from None
    assert stopped.value.__cause__ is error
    assert signal.getsignal(signal.SIGTERM) is previous

    with pytest.raises(type(error)):  # no signal: an error stays an error
        with _stop_on_signals():
            raise error


@pytest.mark.slow
@pytest.mark.parametrize("lr_schedule", ["plateau", "cosine"])
def test_sigterm_after_first_epoch_then_resume_lists_each_epoch_once(tmp_path, lr_schedule,
                                                                     facelib_cmd):
    args = ["train", QUICK, "--model", "pspnet_resnet50", "--set", "train.epochs=4",
            "--set", f"train.lr_schedule={lr_schedule}", "--set", f"output_dir={tmp_path}"]
    history = tmp_path / "runs/pspnet_resnet50/history.csv"
    process = subprocess.Popen([*facelib_command(), *map(str, args)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 1800  # a guard against a hang, not a speed limit
    while not history.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert history.exists(), "the first epoch never finished"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=1800)
    assert process.returncode != 0, "training finished before SIGTERM reached it"
    assert "run the same command again to resume" in stderr
    interrupted = pd.read_csv(history)["epoch"].tolist()
    assert interrupted and interrupted[-1] < 3
    assert not (tmp_path / "runs/pspnet_resnet50/metrics.json").exists()

    facelib_cmd(*args)
    resumed = pd.read_csv(history)
    assert resumed["epoch"].tolist() == [0, 1, 2, 3]
    assert (tmp_path / "runs/pspnet_resnet50/metrics.json").exists()
    assert not (tmp_path / "runs/pspnet_resnet50/backup").exists()
    if lr_schedule == "cosine":  # the schedule went on from the step where it stopped
        assert resumed["learning_rate"].tolist() == pytest.approx(
            cosine_learning_rates(tmp_path / "runs/pspnet_resnet50", epochs=4), rel=1e-5)


def cosine_learning_rates(run: Path, epochs: int) -> list[float]:
    """The cosine schedule's learning rate at the last step of each epoch of `run`."""
    train = yaml.safe_load((run / "params.yaml").read_text())["train"]
    split = pd.read_csv(run / "split.csv")
    steps = (split["split"] == "train").sum() // train["batch_size"]
    start, end = train["learning_rate"], train["reduce_lr"]["min_lr"]
    return [end + (start - end) * 0.5 * (1 + math.cos(math.pi * ((epoch + 1) * steps - 1)
                                                      / (epochs * steps)))
            for epoch in range(epochs)]


@pytest.mark.slow
def test_finished_run_with_other_params_needs_force(tmp_path, facelib_cmd):
    base = ["train", TINY, "--set", f"output_dir={tmp_path}"]
    facelib_cmd(*base)
    again = facelib_cmd(*base)
    assert "unet_resnet18: reused (finished with the same params)" in again.out
    changed = facelib_cmd(*base, "--set", "train.learning_rate=0.01", check=False)
    assert changed.code == 2
    assert "--force" in changed.err and "Traceback" not in changed.err
    facelib_cmd(*base, "--set", "train.learning_rate=0.01", "--force")
    saved = (tmp_path / "runs/unet_resnet18/params.yaml").read_text()
    assert "learning_rate: 0.01" in saved


def test_run_refuses_another_profiles_output_dir(tmp_path, facelib_cmd):
    (tmp_path / "profile.json").write_text(json.dumps({"profile": "demo", "params": {},
                                                        "finished": True}))
    done = facelib_cmd("run", QUICK, "--set", f"output_dir={tmp_path}", check=False)
    assert done.code == 2
    assert "profile 'demo'" in done.err and "--force" in done.err


@pytest.mark.slow
def test_bad_sample_stops_training_with_the_report(tmp_path, facelib_cmd):
    data, bad = synthetic_with_a_bad_mask(tmp_path)
    done = facelib_cmd("train", QUICK, "--set", "data.source=folder", "--set",
                       f"data.root={data}", "--set", f"output_dir={tmp_path / 'out'}",
                       check=False)
    assert done.code == 2
    assert str(bad) in done.err and "on_bad_sample: skip" in done.err
    assert "Traceback" not in done.err


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["skip"])
def test_bad_sample_skipped_and_listed(tmp_path, mode, facelib_cmd):
    data, bad = synthetic_with_a_bad_mask(tmp_path)
    out = tmp_path / "out"
    facelib_cmd("train", QUICK, "--model", "pspnet_resnet50", "--set", "data.source=folder",
                "--set", f"data.root={data}", "--set", f"data.on_bad_sample={mode}",
                "--set", "train.epochs=1", "--set", f"output_dir={out}")
    run = out / "runs/pspnet_resnet50"
    assert str(bad) in (run / "skipped.txt").read_text()
    assert bad.stem not in set(pd.read_csv(run / "split.csv")["stem"])


def test_interrupted_write_leaves_the_old_file(tmp_path):
    from facelib.core.io import write_with

    target = tmp_path / "metrics.json"
    target.write_text("good")

    def crash(path):
        path.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_with(target, crash)
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


@pytest.mark.slow
def test_validate_cli_exit_codes(tmp_path, facelib_cmd):
    assert facelib_cmd("validate", tmp_path / "missing", check=False).code == 2
    data, bad = synthetic_with_a_bad_mask(tmp_path)
    done = facelib_cmd("validate", data, "--json", check=False)
    assert done.code == 1
    report = json.loads(done.out)
    assert report["n_pairs"] == 52
    assert [p["path"] for p in report["problems"]] == [str(bad)]
    os.remove(bad)
    os.remove(next((data / "train/image").glob(f"{bad.stem}.*")))
    assert facelib_cmd("validate", data, check=False).code == 0
