"""`train.tensorboard: true` writes TensorBoard event files into the run folder."""

import importlib.util
from pathlib import Path

import pytest

import facelib
from facelib.core.params import ParamsError, load_params
from facelib.engine import tensorboard

ROOT = Path(__file__).resolve().parents[1]
HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None


def test_the_key_is_checked():
    assert load_params(ROOT / "params/quick.yaml")["train"]["tensorboard"] is False
    with pytest.raises(ParamsError, match="train.tensorboard"):
        load_params(ROOT / "params/quick.yaml", overrides={"train": {"tensorboard": "yes"}})


def test_without_the_package_it_stops_before_training(monkeypatch, tmp_path):
    monkeypatch.setattr(tensorboard.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ParamsError, match=r'pip install -e "\.\[tensorboard\]"'):
        tensorboard.tensorboard_callback(tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TENSORBOARD, reason="the tensorboard extra is not installed")
def test_a_training_with_tensorboard_writes_event_files(tmp_path):
    params = load_params(ROOT / "params/quick.yaml", overrides={
        "output_dir": str(tmp_path), "train": {"epochs": 1, "tensorboard": True}})
    [run] = facelib.train(params, model="pspnet_resnet50")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs = run.folder / "tensorboard"
    for part in ("train", "validation"):
        assert list((logs / part).glob("events.out.tfevents.*")), part
        events = EventAccumulator(str(logs / part))
        events.Reload()
        assert {"epoch_loss", "epoch_iou_score"} <= set(events.Tags()["tensors"]), part
        assert [e.step for e in events.Tensors("epoch_loss")] == [0]
    assert (run.folder / "metrics.json").exists()
