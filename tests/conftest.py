"""Shared test set-up.

`import facelib` selects tf-keras for segmentation-models; it must run before any test
module imports TensorFlow, or `tf.keras` mixes Keras 3 into the models.

The two ways tests run the command line, both returning a `CliResult`:
- `cli(*args)`: `facelib.app.cli.main(args)` in this process, its output captured;
- `facelib_cmd(*args, check=True, ...)`: the installed `facelib` command in a process of its
  own, from the repository root (for what needs a fresh TensorFlow, signals or a clean
  `sys.modules`).

`make test` runs the tests on two xdist workers (`-n 2 --dist loadscope`); `worker_group`
keeps together what shares state.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.cli import CliResult, run_facelib

import facelib  # noqa: F401  (before TensorFlow: see above)
from facelib.app.cli import main

# What must share one xdist worker, by test file: the notebooks, in order (03_compare reads the
# runs 02_train wrote), and the modules that read the session's `quick_run`, so that it runs
# once. Any other module's tests share a worker too, as its module fixtures expect.
QUICK_RUN_MODULES = {"test_end_to_end.py", "test_export.py"}


def worker_group(nodeid: str) -> str:
    path = Path(nodeid.split("::", 1)[0])
    if path.suffix == ".ipynb":
        return "notebooks"
    return "quick_run" if path.name in QUICK_RUN_MODULES else path.as_posix()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`make test`'s `-n 2 --dist loadscope`, with the scopes of `worker_group` (xdist's own
    `loadgroup` marks are lost with pytest 9.2: pytest-xdist issue 1386)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling  # here: xdist is there only when it calls

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return GroupScheduling(config, log)


def pytest_collection_modifyitems(items):
    """A new module that reads `quick_run` must be listed in QUICK_RUN_MODULES."""
    unlisted = {item.path.name for item in items if "quick_run" in getattr(item, "fixturenames", ())
                } - QUICK_RUN_MODULES
    if unlisted:
        raise pytest.UsageError(f"tests/conftest.py: add {sorted(unlisted)} to QUICK_RUN_MODULES")


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
