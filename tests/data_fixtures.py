"""Moved to `fixtures.folders`; kept only for tests/test_bench.py, which still imports it
from here. Remove once it imports `fixtures.folders`."""

from fixtures.folders import striped_mask, write_pair

__all__ = ["striped_mask", "write_pair"]
