"""The Jupyter kernel `facelib`: the notebooks name it, so they open only in an environment
that has facelib (JupyterLab offers no kernel of that name elsewhere).

`python -m facelib.app.kernel` registers it for this Python, in `sys.prefix` (so for the
project's `.venv`, which `make install` does); its environment selects tf-keras before any
TensorFlow import, whatever the first cell imports. `facelib run` executes the notebooks
with it, after `registered_kernel` has checked that it runs this very Python.
"""

from __future__ import annotations

import os
import sys

from ipykernel.kernelspec import install
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

from facelib._env import REQUIRED_ENV
from facelib.core.errors import UsageError

KERNEL_NAME = "facelib"
DISPLAY_NAME = "Python (facelib)"
KERNEL_ENV = {**REQUIRED_ENV, "TF_CPP_MIN_LOG_LEVEL": "2"}
INSTALL_COMMAND = "python -m facelib.app.kernel"


def install_kernel(prefix: str | None = None) -> str:
    """Register (or refresh) the `facelib` kernel for this Python; returns its folder."""
    return install(kernel_name=KERNEL_NAME, display_name=DISPLAY_NAME,
                   prefix=prefix or sys.prefix, env=dict(KERNEL_ENV))


def registered_kernel(name: str = KERNEL_NAME) -> str:
    """`name`, once checked to be a registered kernel that runs this Python; else a
    UsageError saying how to register it."""
    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        raise UsageError(f"no Jupyter kernel named {name!r}: register it for this environment "
                         f"with `{INSTALL_COMMAND}` (`make install` does)") from None
    if os.path.abspath(spec.argv[0]) != os.path.abspath(sys.executable):
        raise UsageError(f"the Jupyter kernel {name!r} ({spec.resource_dir}) runs "
                         f"{spec.argv[0]}, not this Python ({sys.executable}); register it "
                         f"again with `{INSTALL_COMMAND}`")
    return name


if __name__ == "__main__":
    print(f"registered the Jupyter kernel {KERNEL_NAME!r} in {install_kernel()}")
