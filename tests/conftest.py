"""Shared test set-up.

`import facelib` selects tf-keras for segmentation-models; it must run before any test
module imports TensorFlow, or `tf.keras` mixes Keras 3 into the models.

The two ways tests run the command line, both returning a `CliResult`:
- `cli(*args)`: `facelib.app.cli.main(args)` in this process, its output captured;
- `facelib_cmd(*args, check=True, ...)`: the installed `facelib` command in a process of its
  own, from the repository root (for what needs a fresh TensorFlow, signals or a clean
  `sys.modules`).

`make test` runs the tests on two xdist workers (`-n 2 --dist loadgroup`); `xdist_groups`
keeps together what shares state.
"""

from __future__ import annotations

import pytest
from fixtures.cli import CliResult, run_facelib

import facelib  # noqa: F401  (before TensorFlow: see above)
from facelib.app.cli import main


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items):
    """Each item's xdist group: the notebooks run in order on one worker (03_compare reads the
    runs 02_train wrote); the modules that read the session's `quick_run` share a worker, so
    it runs once; any other module's tests share one, as its module fixtures expect."""
    modules_using_quick_run = {item.path for item in items
                               if "quick_run" in getattr(item, "fixturenames", ())}
    for item in items:
        if item.path.suffix == ".ipynb":
            group = "notebooks"
        elif item.path in modules_using_quick_run:
            group = "quick_run"
        else:
            group = item.path.name
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def facelib_cmd():
    """`run_facelib`: the installed command in a subprocess (any fixture scope may use it)."""
    return run_facelib


@pytest.fixture
def cli(capsys):
    """`facelib ARGS` through `facelib.app.cli.main` in this process: its exit code and what
    it printed (output printed before the call is dropped)."""

    def run(*args) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory, facelib_cmd):
    """`facelib run params/quick.yaml` once per session: (its output folder, its CliResult).
    The end-to-end tests read it, the export tests export its DeepLabV3+ run."""
    out = tmp_path_factory.mktemp("quick")
    done = facelib_cmd("run", "params/quick.yaml", "--set", f"output_dir={out}")
    return out, done
