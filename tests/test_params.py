import json
import subprocess
import sys
from pathlib import Path

import pytest

from facelib.core.params import (
    ParamsError,
    load_params,
    output_dir,
    params_for_model,
    parse_overrides,
)

ROOT = Path(__file__).resolve().parents[1]
PROFILES = sorted((ROOT / "params").glob("*.yaml"))


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_every_profile_loads(profile):
    params = load_params(profile)
    assert params["profile"] == profile.stem
    assert params["models"]


def test_set_overrides_nested_keys():
    params = load_params(ROOT / "params/quick.yaml",
                         ["train.epochs=4", "output_dir=outputs/try", "data.augment.hflip=false"])
    assert params["train"]["epochs"] == 4
    assert params["data"]["augment"]["hflip"] is False
    assert output_dir(params) == ROOT / "outputs/try"


def test_parse_overrides_reads_yaml_values():
    assert parse_overrides(["a.b=1", "a.c=[1, 2]", "d=null"]) == {"a": {"b": 1, "c": [1, 2]},
                                                                  "d": None}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("trian: {epochs: 3}", "unknown key 'trian'"),
        ("train: {epoch: 3}", "unknown key 'train.epoch'"),
        ("train: {epochs: three}", "train.epochs = 'three'"),
        ("data: {split: {test_fraction: 1.5}}", "data.split.test_fraction = 1.5"),
        ("data: {image_size: 0}", "data.image_size = 0"),
        ("models: [{architecture: pspnet, backbone: resnet5O}]", "models[0].backbone = 'resnet5O'"),
        ("models: [{architecture: segformer, backbone: resnet50}]", "models[0].architecture"),
        ("train: {optimizer: rmsprop}", "train.optimizer = 'rmsprop'"),
        ("train: {lr_schedule: step}", "train.lr_schedule = 'step'"),
        ("models: [{architecture: unet, backbone: resnet18, train: {epoch: 3}}]",
         "models[0]: unknown key 'train.epoch'"),
        ("models: [{architecture: unet, backbone: resnet18, data: {cache: false}}]",
         "a model may set only image_size"),
        ("models: [{architecture: unet, backbone: resnet18, model: {deeplab_filters: -1}}]",
         "models[0]: model.deeplab_filters = -1"),
        ("models: [{architecture: unet, backbone: resnet18, epochs: 3}]", "optionally name, data"),
        ("model: {unet_decoder_filters: [64, 32]}", "model.unet_decoder_filters = [64, 32]"),
        ("model: {deeplab_atrous_rates: [6, 0]}", "model.deeplab_atrous_rates = [6, 0]"),
        ("model: {deeplab_filters: 0}", "model.deeplab_filters = 0"),
        ("model: {deeplab_decoder_stride: 1}", "model.deeplab_decoder_stride = 1"),
        ("eval: {scales: []}", "eval.scales = []"),
        ("eval: {scales: [1.0, 0]}", "eval.scales = [1.0, 0]"),
        ("eval: {scales: 1.25}", "eval.scales = 1.25"),
        ("data: {classes: {background: {ids: [0], color: [0, 0, 0]}, face: {ids: [1], "
         "color: [1, 2, 3]}}}", "belong to no class"),
        ("train: [1, 2]", "train = [1, 2]"),
        ("- just a list", "expected a mapping"),
        ("train: {epochs: 2", "not valid YAML"),
    ],
)
def test_bad_params_name_file_key_and_value(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(ParamsError) as error:
        load_params(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_missing_params_file_is_named(tmp_path):
    with pytest.raises(ParamsError, match="no such params file"):
        load_params(tmp_path / "missing.yaml")


def test_bad_override_is_named():
    with pytest.raises(ParamsError, match=r"--set: train.batch_size = -1"):
        load_params(ROOT / "params/quick.yaml", ["train.batch_size=-1"])


def test_class_weights_must_match_classes():
    with pytest.raises(ParamsError, match="train.class_weights"):
        load_params(ROOT / "params/quick.yaml", ["train.class_weights=[1, 2]"])


# Runs `facelib ARGS` as `main(ARGS)` in a fresh Python, then writes the top-level packages
# of the modules it loaded to the file named first: what the command imported.
LOADED_MODULES = """
import json, sys
from pathlib import Path
from facelib.app.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as stop:  # --help
    code = stop.code
Path(sys.argv[1]).write_text(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
sys.exit(code)
"""
HEAVY = {"tensorflow", "keras", "tf_keras", "segmentation_models"}


def loaded_by(tmp_path, *args) -> tuple[subprocess.CompletedProcess, set[str]]:
    record = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", LOADED_MODULES, str(record), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT)
    return done, set(json.loads(record.read_text()))


def test_check_needs_no_tensorflow(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("models: [{architecture: unet, backbone: efficientnetb9}]\n")
    done, modules = loaded_by(tmp_path, "check", path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"facelib check: {path}: models[0].backbone = 'efficientnetb9'")
    assert done.stderr.count("\n") == 1 and done.stdout == ""
    assert modules & HEAVY == set()
    assert "facelib" in modules and "yaml" in modules  # the record is of the command's process

    done, modules = loaded_by(tmp_path, "check", ROOT / "params/quick.yaml")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"{ROOT / 'params/quick.yaml'}: ok (profile 'quick', 2 model(s))\n"
    assert modules & HEAVY == set()


def test_help_needs_no_tensorflow(tmp_path):
    done, modules = loaded_by(tmp_path, "--help")
    assert done.returncode == 0 and "check" in done.stdout
    assert modules & HEAVY == set()


def test_a_models_entry_overrides_params_for_that_model_only():
    params = load_params(overrides={"models": [
        {"architecture": "pspnet", "backbone": "resnet50", "data": {"image_size": 96},
         "model": {"pspnet_conv_filters": 64}, "train": {"reduce_lr": {"patience": 1}}},
        {"architecture": "unet", "backbone": "resnet18"},
    ]})
    pspnet = params_for_model(params, {"architecture": "pspnet", "backbone": "resnet50"})
    unet = params_for_model(params, {"architecture": "unet", "backbone": "resnet18"})

    assert pspnet["data"]["image_size"] == 96 and unet["data"]["image_size"] == 256
    assert pspnet["model"]["pspnet_conv_filters"] == 64
    assert unet["model"]["pspnet_conv_filters"] == 512
    assert pspnet["train"]["reduce_lr"] == {**params["train"]["reduce_lr"], "patience": 1}
    assert unet == params


def test_set_wins_over_a_models_entry_of_its_own():
    demo = ROOT / "params/demo.yaml"
    unet = {"architecture": "unet", "backbone": "efficientnetb0"}
    assert params_for_model(load_params(demo), unet)["train"]["epochs"] == 12
    params = load_params(demo, ["train.epochs=1", "data.image_size=64"])
    for spec in params["models"]:
        chosen = params_for_model(params, spec)
        assert chosen["train"]["epochs"] == 1 and chosen["data"]["image_size"] == 64
    assert params_for_model(params, params["models"][0])["train"]["optimizer"] == "adam"


def test_models_entries_have_unique_names_that_name_their_runs():
    from facelib.core.runs import run_dir

    twins = [{"architecture": "unet", "backbone": "resnet18", "name": "unet_a"},
             {"architecture": "unet", "backbone": "resnet18", "name": "unet_b"}]
    params = load_params(overrides={"models": twins, "output_dir": "/tmp/x"})
    assert [run_dir(params, spec).name for spec in params["models"]] == ["unet_a", "unet_b"]
    with pytest.raises(ParamsError, match=r"models = \['unet_resnet18'\].*its own name"):
        load_params(overrides={"models": [{k: v for k, v in t.items() if k != "name"}
                                          for t in twins]})
    with pytest.raises(ParamsError, match=r"models\[0\]\.name = 'a/b'"):
        load_params(overrides={"models": [dict(twins[0], name="a/b")]})


def test_overrides_take_dotted_keys_as_notebooks_pass_them():
    dotted = load_params(ROOT / "params/quick.yaml", {"train.epochs": 3, "model.dropout": 0.1})
    nested = load_params(ROOT / "params/quick.yaml", ["train.epochs=3", "model.dropout=0.1"])
    assert dotted == nested and dotted["train"]["epochs"] == 3
