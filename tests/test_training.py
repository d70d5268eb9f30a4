"""What a run trains with: per-model overrides from the profile's `models` entries."""

import json

import pytest
import yaml

from facelib.engine.predict import model_input_size
from facelib.models import load_model


@pytest.mark.slow
def test_a_models_entry_trains_its_model_at_its_own_size(tmp_path, facelib_cmd):
    models = ("[{architecture: pspnet, backbone: resnet50, data: {image_size: 96}, "
              "model: {pspnet_conv_filters: 32}}, {architecture: unet, backbone: resnet18}]")
    facelib_cmd("train", "params/quick.yaml", "--model", "pspnet_resnet50",
                "--set", f"models={models}", "--set", "train.epochs=1",
                "--set", f"output_dir={tmp_path}")

    run = tmp_path / "runs/pspnet_resnet50"
    saved = yaml.safe_load((run / "params.yaml").read_text())
    assert saved["data"]["image_size"] == 96 and saved["model"]["pspnet_conv_filters"] == 32
    assert json.loads((run / "metrics.json").read_text())["image_size"] == 96
    provenance = json.loads((run / "provenance.json").read_text())
    assert set(provenance) >= {"facelib_version", "git_commit", "git_dirty", "packages", "python",
                               "machine", "data_fingerprint", "params_sha256"}
    model = load_model(run / "model.keras")
    assert model_input_size(model) == 96
    assert model.get_layer("core").get_layer("aggregation_conv").filters == 32
