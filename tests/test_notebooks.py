"""The notebooks stay paired, parameterised and in step with the quick profile."""

from pathlib import Path

import jupytext
import pytest

from facelib.app.runner import Invocation, pipeline_steps
from facelib.core.params import load_params, resolve_path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
CONTRACT = {"profile", "overrides"}
OWN_PARAMETERS = {"01_data_analysis": set(), "02_train": {"run_name", "force"},
                  "03_compare": {"run_folders"}, "04_predict": {"model_path", "photos_dir"}}


def code_cells(path: Path) -> list[str]:
    notebook = jupytext.read(path)
    return [cell.source.strip() for cell in notebook.cells if cell.cell_type == "code"]


def parameters_cells(path: Path) -> list[str]:
    notebook = jupytext.read(path)
    return [c.source for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]


def test_there_are_four_notebooks():
    assert [p.stem for p in SCRIPTS] == ["01_data_analysis", "02_train", "03_compare",
                                         "04_predict"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_py_and_ipynb_have_the_same_code(script):
    paired = script.with_suffix(".ipynb")
    assert paired.exists(), f"{paired} is missing: run `jupytext --sync {script}`"
    assert code_cells(script) == code_cells(paired), (
        f"{script.name} and {paired.name} differ: run `jupytext --sync {script}`"
    )


@pytest.mark.parametrize("path", SCRIPTS + [p.with_suffix(".ipynb") for p in SCRIPTS],
                         ids=lambda p: p.name)
def test_exactly_one_parameters_cell(path):
    assert len(parameters_cells(path)) == 1, f"{path.name}: needs one cell tagged parameters"


def parameters_of(script: Path) -> dict:
    namespace: dict = {}
    exec(parameters_cells(script)[0], namespace)
    return {k: v for k, v in namespace.items() if not k.startswith("__")}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_parameters_cell_is_the_profile_overrides_and_own_values(script):
    parameters = parameters_of(script)
    assert set(parameters) == CONTRACT | OWN_PARAMETERS[script.stem]
    assert (parameters["profile"], parameters["overrides"]) == ("params/quick.yaml", {})
    assert load_params(resolve_path(parameters["profile"]), parameters["overrides"]) == (
        load_params(ROOT / "params/quick.yaml"))


def test_the_runner_passes_each_notebook_only_its_parameters(tmp_path):
    invocation = Invocation.of(ROOT / "params/demo.yaml", ["train.epochs=3"])
    steps = pipeline_steps(invocation.params(), force=False)
    assert [s.own.get("run_name") for s in steps if s.notebook == "02_train"] == [
        "pspnet_resnet50", "deeplabv3plus_efficientnetb0", "unet_efficientnetb0"]
    for step in steps:
        passed = invocation.parameters(tmp_path, step.own)
        assert set(passed) <= set(parameters_of(ROOT / f"notebooks/{step.notebook}.py"))
        assert passed["overrides"] == {"train.epochs": 3, "output_dir": str(tmp_path)}
        assert passed["profile"] == str(ROOT / "params/demo.yaml")


def test_jupytext_config_pairs_the_notebooks():
    config = (ROOT / "notebooks/jupytext.toml").read_text()
    assert 'formats = "ipynb,py:percent"' in config
