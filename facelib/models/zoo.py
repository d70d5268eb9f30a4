"""build_model: any architecture on any segmentation-models backbone, at any input size.

Every model takes (S, S, 3) float32 images of 0..255 RGB and returns (S, S, n_classes)
float32 softmax probabilities. Inside, it applies the backbone's preprocessing, runs the
architecture's network (the "core") and ends with a float32 softmax, so predictions need no
preprocessing and stay float32 under mixed precision.

Input sizes: U-Net, LinkNet and FPN need sides divisible by 32 and PSPNet by
6 * downsample_factor (48 for the default 8). For any other S the core runs at the nearest
valid size: the images are resized to it (bilinear) and the core's logits resized back to S
(bilinear) before the softmax. DeepLabV3+ takes any size as it is.
"""

from __future__ import annotations

import tensorflow as tf

from facelib.core.catalog import PREPROCESSING
from facelib.core.params import resolve_path
from facelib.models.init_from import InitReport, init_from_run
from facelib.models.layers import BackbonePreprocessing
from facelib.models.registry import ARCHITECTURE_BUILDERS
from facelib.models.weights import cached_imagenet_weights, load_encoder_weights


def core_size(architecture: str, size: int, model_params: dict) -> int:
    """The input side the architecture's network runs at for images of side `size`."""
    if architecture == "deeplabv3plus":
        return size
    multiple = 6 * model_params["pspnet_downsample_factor"] if architecture == "pspnet" else 32
    return max(1, round(size / multiple)) * multiple


def build_core(architecture: str, backbone: str, size: int, n_classes: int,
               encoder_weights: str | None, model_params: dict) -> tf.keras.Model:
    """The architecture's network at input side `size`, returning logits (linear activation).

    `model.dropout` applies where the architecture has a dropout: PSPNet, FPN and DeepLabV3+.
    """
    common = {"input_shape": (size, size, 3), "classes": n_classes, "activation": "linear",
              "encoder_weights": encoder_weights}
    return ARCHITECTURE_BUILDERS[architecture](backbone, common, model_params)


def set_batchnorm_momentum(model: tf.keras.Model, momentum: float) -> int:
    """Set the moving-average momentum of every BatchNormalization layer, nested ones too;
    returns how many. Keras reads it when the training step is traced, so set it before."""
    count = 0
    for layer in model.layers:
        if isinstance(layer, tf.keras.Model):
            count += set_batchnorm_momentum(layer, momentum)
        elif isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.momentum = momentum
            count += 1
    return count


def build_model(spec: dict, params: dict) -> tf.keras.Model:
    """The model `spec` = {architecture, backbone} for `params` (data.image_size, data.classes,
    model.*), named `{architecture}_{backbone}`.

    Encoder weights: `model.weights_path` (a local .h5 file, loaded by layer name) if set, else
    ImageNet weights from the Keras cache if `model.encoder_weights` is imagenet (raises
    WeightsUnavailableError rather than downloading), else random. `model.init_from` is
    applied afterwards, by `start_from_run`.
    """
    architecture, backbone = spec["architecture"], spec["backbone"]
    model_params = params["model"]
    size = params["data"]["image_size"]
    inner_size = core_size(architecture, size, model_params)
    encoder_weights = None
    if model_params["encoder_weights"] == "imagenet" and not model_params["weights_path"]:
        encoder_weights = cached_imagenet_weights(backbone, inner_size)
    core = build_core(architecture, backbone, inner_size, len(params["data"]["classes"]),
                      encoder_weights, model_params)
    if model_params["weights_path"]:
        load_encoder_weights(core, resolve_path(model_params["weights_path"]))
    core = tf.keras.Model(core.inputs, core.outputs, name="core")
    if model_params["batchnorm_momentum"] is not None:
        set_batchnorm_momentum(core, model_params["batchnorm_momentum"])

    images = tf.keras.Input((size, size, 3), name="image")
    x = BackbonePreprocessing(PREPROCESSING[backbone], dtype="float32",
                              name="preprocessing")(images)
    if inner_size != size:
        x = tf.keras.layers.Resizing(inner_size, inner_size, dtype="float32",
                                     name="resize_to_core")(x)
    x = core(x)
    if inner_size != size:
        x = tf.keras.layers.Resizing(size, size, dtype="float32", name="resize_to_input")(x)
    probabilities = tf.keras.layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    return tf.keras.Model(images, probabilities, name=f"{architecture}_{backbone}")


def start_from_run(model: tf.keras.Model, params: dict) -> InitReport | None:
    """With `model.init_from` (a finished run folder or model file): copy its weights into
    every layer of `model` that fits (`init_from_run`) and say which; else None."""
    init_from = params["model"]["init_from"]
    return init_from_run(model, resolve_path(init_from)) if init_from else None
