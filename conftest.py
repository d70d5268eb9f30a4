"""pytest set-up shared by tests/ and the nbval runs of notebooks/.

Everything a test session trains or writes goes to a throw-away outputs folder, never to
the user's `outputs/`; notebook kernels started by nbval inherit it.
"""

import os
import tempfile

import pytest

os.environ.setdefault("FACELIB_OUTPUTS", tempfile.mkdtemp(prefix="facelib-test-outputs-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's kernels, which `import facelib` turns on, train the demo's models up to 2x faster,
# but the tests' tiny models 1.4x slower (per-shape set-up); the tests run without them,
# except the reproducibility test, which checks the default.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def pytest_collection_modifyitems(items):
    """nbval's items (the notebooks' cells) carry the `notebook` marker, as do the tests that
    execute notebooks, so `-m "not notebook"` leaves out every notebook run."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebook)
