"""facelib: a reproducible pipeline for face parsing.

`import facelib` selects tf-keras for segmentation-models before TensorFlow loads; the
heavy parts (TensorFlow, models) are imported only when first used.
"""

from facelib._env import check_keras, configure_environment
from facelib._quiet import quiet_tensorflow_startup

configure_environment()
check_keras()
quiet_tensorflow_startup()

__version__ = "0.1.0"

# Public API name -> module that defines it; imported on first access (deliberately lazy, so
# that `import facelib` can set the environment before TensorFlow loads).
_API = {
    "FacelibError": "facelib.core.errors",
    "UsageError": "facelib.core.errors",
    "Run": "facelib.core.runs",
    "data_source": "facelib.data.sources",
    "load_params": "facelib.core.params",
    "ParamsError": "facelib.core.params",
    "ClassScheme": "facelib.core.scheme",
    "SOURCE_NAMES": "facelib.core.scheme",
    "find_pairs": "facelib.data.discover",
    "split_pairs": "facelib.data.discover",
    "validate_dataset": "facelib.data.validate",
    "make_synthetic_dataset": "facelib.data.synth",
    "build_model": "facelib.models",
    "load_model": "facelib.models",
    "train": "facelib.engine.training",
    "train_model": "facelib.engine.training",
    "evaluate_model": "facelib.engine.evaluate",
    "confusion_metrics": "facelib.models.metrics",
    "predict_image": "facelib.engine.predict",
    "show_samples": "facelib.reports.viz",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'facelib' has no attribute {name!r}")
