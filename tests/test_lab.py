"""`make lab`: the `facelib` kernel is registered for this Python and the notebooks name it;
JupyterLab (the `lab` extra) finds jupytext's extension."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

from facelib.app import kernel
from facelib.core.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.*[yb]"))
HAS_LAB = importlib.util.find_spec("jupyterlab") is not None


def jupyter(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jupyter", *args], capture_output=True,
                          text=True, timeout=120, check=True)


def test_facelib_kernel_is_registered_for_this_python():
    specs = json.loads(jupyter("kernelspec", "list", "--json").stdout)["kernelspecs"]
    assert "facelib" in specs, "no kernel named facelib: run `make install`"
    spec = specs["facelib"]["spec"]
    assert spec["display_name"] == "Python (facelib)"
    assert spec["argv"][0] == sys.executable
    assert spec["env"]["TF_USE_LEGACY_KERAS"] == "1" and spec["env"]["SM_FRAMEWORK"] == "tf.keras"
    assert kernel.registered_kernel() == "facelib"


def test_an_unregistered_kernel_is_one_clear_line():
    with pytest.raises(UsageError, match="no Jupyter kernel named 'no-such-kernel'.*"
                                         "python -m facelib.app.kernel"):
        kernel.registered_kernel("no-such-kernel")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_name_the_facelib_kernel(path):
    assert jupytext.read(path).metadata["kernelspec"]["name"] == "facelib"


@pytest.mark.skipif(not HAS_LAB, reason="the lab extra is not installed (`make lab` or "
                                        "`pip install -e .[lab]`)")
def test_jupyterlab_has_the_jupytext_extension():
    import jupyterlab_jupytext  # the server extension, shipped by jupytext

    assert callable(jupyterlab_jupytext.load_jupyter_server_extension)
    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

    manager = jupyterlab_jupytext.build_async_jupytext_contents_manager_class(
        AsyncLargeFileManager)
    assert hasattr(manager, "formats")  # the contents manager that pairs .py and .ipynb
    listed = jupyter("labextension", "list")
    lines = (listed.stdout + listed.stderr).splitlines()
    assert [line for line in lines if "jupyterlab-jupytext" in line and "enabled" in line
            and "OK" in line], "\n".join(lines)
