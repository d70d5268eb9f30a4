"""Encoder weights from local files only: the ImageNet file from the Keras cache, or a user file.

The backbone libraries download ImageNet weights with `keras.utils.get_file`, which can hang
without network. facelib never lets them: it looks for the file they would download in the
Keras cache and hands the backbone its path (each library loads a path in layer order, as it
would the download), or raises WeightsUnavailableError saying how to provide it.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
from classification_models.weights import WEIGHTS_COLLECTION

from facelib.core.errors import FacelibError

GITHUB = "https://github.com"
FCHOLLET = f"{GITHUB}/fchollet/deep-learning-models/releases/download"


class WeightsUnavailableError(FacelibError, RuntimeError):
    """Encoder weights that cannot be read from a local file; the message says how to fix it."""


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded weights: `$KERAS_HOME/models`, else `~/.keras/models`."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def imagenet_weights_file(backbone: str, input_size: int) -> tuple[str, str]:
    """(file name, download URL) of a backbone's ImageNet weights without the classifier top.

    Names and URLs are those of image-classifiers, efficientnet and keras-applications; the
    MobileNets name their file after the input size (224 when the size has no file of its own).
    """
    if backbone.startswith("efficientnet"):
        name = (f"efficientnet-b{backbone[-1]}"
                "_weights_tf_dim_ordering_tf_kernels_autoaugment_notop.h5")
        return name, f"{GITHUB}/Callidior/keras-applications/releases/download/efficientnet/{name}"
    if backbone.startswith(("vgg", "densenet")):
        name = f"{backbone}_weights_tf_dim_ordering_tf_kernels_notop.h5"
        if backbone.startswith("vgg"):
            return name, f"{FCHOLLET}/v0.1/{name}"
        return name, f"{GITHUB}/keras-team/keras-applications/releases/download/densenet/{name}"
    if backbone == "inceptionv3":
        name = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
        return name, f"{FCHOLLET}/v0.5/{name}"
    if backbone == "inceptionresnetv2":
        name = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
        return name, f"{FCHOLLET}/v0.7/{name}"
    if backbone == "mobilenet":
        rows = input_size if input_size in (128, 160, 192, 224) else 224
        name = f"mobilenet_1_0_{rows}_tf_no_top.h5"
        return name, f"{FCHOLLET}/v0.6/{name}"
    if backbone == "mobilenetv2":
        rows = input_size if input_size in (96, 128, 160, 192, 224) else 224
        name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"
        return name, f"{GITHUB}/JonathanCMitchell/mobilenet_v2_keras/releases/download/v1.1/{name}"
    for entry in WEIGHTS_COLLECTION:  # image-classifiers' ResNets, ResNeXts and SE-Nets
        key = (entry["model"], entry["dataset"], entry["include_top"])
        if key == (backbone, "imagenet", False):
            return entry["name"], entry["url"]
    raise ValueError(f"no ImageNet weights are known for backbone {backbone!r}")


def cached_imagenet_weights(backbone: str, input_size: int) -> str:
    """Path of the cached ImageNet weights file, or WeightsUnavailableError (no download)."""
    name, url = imagenet_weights_file(backbone, input_size)
    path = keras_cache_dir() / name
    if not path.is_file():
        raise WeightsUnavailableError(
            f"model.encoder_weights = imagenet: the {backbone} weights file is not in the Keras "
            f"cache ({path}) and facelib does not download it. Either set "
            f"`model.encoder_weights: null` (random initialisation), or download {url} "
            f"to {path}, or set `model.weights_path` to a local .h5 file of encoder weights."
        )
    return str(path)


def load_encoder_weights(model, path: str | Path) -> None:
    """Load the weights of the layers of `model` that a local .h5 file names (by layer name).

    Layers whose weights have other shapes are skipped; a file that names none of the model's
    layers raises WeightsUnavailableError, as does a missing file.
    """

    path = Path(path)
    if not path.is_file():
        raise WeightsUnavailableError(f"model.weights_path = {path}: no such file")
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        names = {_text(name) for name in group.attrs.get("layer_names", ())
                 if len(group[_text(name)].attrs.get("weight_names", ()))}
    if not names & {layer.name for layer in model.layers}:
        raise WeightsUnavailableError(
            f"model.weights_path = {path}: none of the {len(names)} layers with weights it "
            f"holds is a layer of the model; expected a Keras .h5 weights file of the same "
            f"backbone"
        )
    model.load_weights(str(path), by_name=True, skip_mismatch=True)


def _text(name: bytes | str) -> str:
    return name.decode() if isinstance(name, bytes) else name
