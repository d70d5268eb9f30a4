"""pytest set-up shared by tests/ and the nbval runs of notebooks/.

Everything a test session trains or writes goes to a throw-away outputs folder, never to
the user's `outputs/`; notebook kernels started by nbval inherit it.
"""

import os
import tempfile

os.environ.setdefault("FACELIB_OUTPUTS", tempfile.mkdtemp(prefix="facelib-test-outputs-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
