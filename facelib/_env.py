"""Environment set-up that must happen before TensorFlow is imported.

TensorFlow 2.21 ships Keras 3, but segmentation-models 1.0.1 needs the legacy tf.keras
(the `tf-keras` package). Both libraries read their switch from the environment at import
time, so facelib sets them (only where the user has not) before anything imports TensorFlow.
"""

import os
import sys

REQUIRED_ENV = {"TF_USE_LEGACY_KERAS": "1", "SM_FRAMEWORK": "tf.keras"}


class KerasVersionError(RuntimeError):
    """TensorFlow was imported with Keras 3 before facelib could select tf-keras."""


def configure_environment() -> None:
    for key, value in REQUIRED_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # oneDNN's fused CPU kernels: TensorFlow turns them on by itself only on CPUs with
    # AVX-512 VNNI or newer. On a 2-core AVX2 CPU the demo's PSPNet step took 2x less time
    # with them, U-Net's 1.26x, DeepLabV3+'s the same, and reruns stayed identical.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def check_keras() -> None:
    """Raise KerasVersionError if TensorFlow already runs with Keras 3."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return
    keras_module = getattr(getattr(tf, "keras", None), "__name__", "")
    if keras_module and not keras_module.startswith("tf_keras"):
        raise KerasVersionError(
            "TensorFlow was imported with Keras 3 before facelib. "
            "segmentation-models needs tf-keras: restart the kernel and `import facelib` "
            "before TensorFlow, or set TF_USE_LEGACY_KERAS=1 and SM_FRAMEWORK=tf.keras "
            "in the environment."
        )
