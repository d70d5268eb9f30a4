"""The notebooks stay paired, parameterised and in step with the quick profile."""

from pathlib import Path

import jupytext
import pytest

from facelib.core.params import load_params

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
NOTEBOOK_ONLY_PARAMETERS = {"architecture", "backbone", "force", "model_path", "photos_dir"}


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


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_parameters_cell_defaults_are_the_quick_profile(script):
    namespace: dict = {}
    exec(parameters_cells(script)[0], namespace)
    sections = {k: v for k, v in namespace.items()
                if not k.startswith("__") and k not in NOTEBOOK_ONLY_PARAMETERS}
    assert load_params(**sections) == load_params(ROOT / "params/quick.yaml")


def test_jupytext_config_pairs_the_notebooks():
    config = (ROOT / "notebooks/jupytext.toml").read_text()
    assert 'formats = "ipynb,py:percent"' in config
