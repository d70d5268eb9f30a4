"""facelib's models: segmentation-models architectures and DeepLabV3+ on any sm backbone.

Importing this package is light; the names below load TensorFlow and segmentation-models on
first use (deliberately lazy, like sm's own API). `sm` is the
segmentation_models module, imported without its banner.
"""

import contextlib
import importlib
import io

_API = {
    "build_model": "facelib.models.zoo",
    "start_from_run": "facelib.models.zoo",
    "multi_scale": "facelib.models.zoo",
    "DeepLabV3Plus": "facelib.models.deeplabv3plus",
    "AtrousConv2D": "facelib.models.layers",
    "BackbonePreprocessing": "facelib.models.layers",
    "save_model": "facelib.models.saving",
    "load_model": "facelib.models.saving",
    "WeightsUnavailableError": "facelib.models.weights",
}

__all__ = sorted(_API) + ["sm"]


def _segmentation_models():
    with contextlib.redirect_stdout(io.StringIO()):
        import segmentation_models
    return segmentation_models


def __getattr__(name):
    if name == "sm":
        return _segmentation_models()
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'facelib.models' has no attribute {name!r}")
