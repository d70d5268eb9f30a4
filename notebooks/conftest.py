"""nbval's items (the notebooks' cells) carry the `notebook` marker, as do the tests that
execute notebooks, so `-m "not notebook"` leaves out every notebook run."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebook)
