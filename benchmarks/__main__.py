"""`python -m benchmarks [--json] [--quick]`: the same as `facelib bench`."""

import sys

from facelib.app.cli import main

sys.exit(main(["bench", *sys.argv[1:]]))
