"""TensorFlow's start-up lines, kept out of stderr (and so out of the executed notebooks).

Importing TensorFlow 2.21 writes these to file descriptor 2 before its logging is set up,
so TF_CPP_MIN_LOG_LEVEL does not hide them (twice: two libraries each log them once):

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:... port.cc:153] oneDNN custom operations are on. You may see ...
    I0000 00:00:... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU ...

and its first look at the devices, on a machine without a CUDA driver:

    E0000 00:00:... cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: ... (303)

`quiet_tensorflow_startup()` (run by `import facelib`) makes the first `import tensorflow`
run with descriptor 2 sent to a temporary file, lists the physical devices once while it is
there, then writes back every line but these. Any other line, and everything when the
import fails, reaches stderr as it was. `FACELIB_TF_STARTUP_LOG=1` keeps all of them.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from contextlib import contextmanager

SHOW_ALL = "FACELIB_TF_STARTUP_LOG"
_PREFIX = r"[IWE]\d{4} [\d:.]+ +\d+ "
NOISE = tuple(re.compile(p) for p in (
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$",
    _PREFIX + r"port\.cc:\d+\] oneDNN custom operations are on\. ",
    _PREFIX + r"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, GPU will "
              r"not be used\.$",
    _PREFIX + r"cuda_platform\.cc:\d+\] failed call to cuInit: .*\(303\)$",
))


def is_noise(line: str) -> bool:
    return any(pattern.match(line) for pattern in NOISE)


def without_noise(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True)
                   if not is_noise(line.rstrip("\r\n")))


@contextmanager
def filtered_stderr():
    """Send descriptor 2 to a temporary file for the block, then write back the lines that
    are not TensorFlow start-up noise (all of them if the block raised)."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            if sys.stderr is not None:
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors="replace")
            kept = text if failed else without_noise(text)
            if kept:
                os.write(2, kept.encode())


class _QuietLoader(importlib.abc.Loader):
    """The `tensorflow` package's own loader, run inside `filtered_stderr`."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self._loader
        with filtered_stderr():
            self._loader.exec_module(module)
            module.config.list_physical_devices()  # where the cuInit line is written

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` once, the usual way, and hands its loader to `_QuietLoader`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow_startup() -> None:
    """Filter TensorFlow's start-up lines from its first import (unless already imported,
    already arranged, or FACELIB_TF_STARTUP_LOG=1)."""
    if "tensorflow" in sys.modules or os.environ.get(SHOW_ALL, "") not in ("", "0"):
        return
    if not any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())
