"""TensorFlow's start-up lines stay out of stderr; every other line gets through."""

import os
import subprocess
import sys

IMPORT = "import facelib, tensorflow as tf; tf.constant(1.0) + 1; print(tf.__loader__)"
NOISE_MARKS = ("absl::InitializeLog", "oneDNN custom operations", "cuda drivers", "cuInit")


def python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_tensorflow_import_leaves_stderr_clean_unless_asked():
    quiet = python(IMPORT)
    assert quiet.returncode == 0, quiet.stderr
    assert not [m for m in NOISE_MARKS if m in quiet.stderr], quiet.stderr
    assert "SourceFileLoader" in quiet.stdout  # tensorflow keeps its own loader
    shown = python(IMPORT, FACELIB_TF_STARTUP_LOG="1")
    assert "All log messages before absl::InitializeLog() is called" in shown.stderr


def test_other_lines_and_a_failed_block_get_through():
    code = """if True:
        import os
        from facelib._quiet import filtered_stderr
        with filtered_stderr():
            os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called "
                        b"are written to STDERR\\n")
            os.write(2, b"E0000 00:00:1.2   7 cuda_platform.cc:52] failed call to cuInit: "
                        b"INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\\n")
            os.write(2, b"E0000 00:00:1.2   7 cuda_platform.cc:52] failed call to cuInit: "
                        b"CUDA_ERROR_NO_DEVICE (100)\\n")
            os.write(2, b"a real error\\n")
        try:
            with filtered_stderr():
                os.write(2, b"I0000 00:00:1.2   7 cudart_stub.cc:31] Could not find cuda "
                            b"drivers on your machine, GPU will not be used.\\n")
                raise ImportError("broken")
        except ImportError:
            pass
    """
    done = python(code)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "E0000 00:00:1.2   7 cuda_platform.cc:52] failed call to cuInit: CUDA_ERROR_NO_DEVICE "
        "(100)",
        "a real error",
        "I0000 00:00:1.2   7 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
        "GPU will not be used.",
    ]
