"""build_model: any architecture on any segmentation-models backbone, at any input size.

Every model takes (S, S, 3) float32 images of 0..255 RGB and returns (S, S, n_classes)
float32 softmax probabilities. Inside, it applies the backbone's preprocessing, runs the
architecture's network (the "core") and ends with a float32 softmax, so predictions need no
preprocessing and stay float32 under mixed precision.

Input sizes: U-Net, LinkNet and FPN need sides divisible by 32 and PSPNet by
6 * downsample_factor (48 for the default 8). For any other S the core runs at the nearest
valid size: the images are resized to it (bilinear) and the core's logits resized back to S
(bilinear) before the softmax. DeepLabV3+ takes any size as it is.

`multi_scale` runs a trained model at several input sizes at once (`eval.scales`).
"""

from __future__ import annotations

import tensorflow as tf

from facelib.core.catalog import PREPROCESSING
from facelib.core.params import merge, resolve_path
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


def scaled_side(size: int, scale: float) -> int:
    """`size` at scale 1, else `size * scale` rounded to a multiple of 32 (at least 32)."""
    return size if scale == 1 else max(1, round(size * scale / 32)) * 32


def at_input_size(model: tf.keras.Model, params: dict, size: int) -> tf.keras.Model:
    """`model` (built by `build_model` with `params`) rebuilt for input side `size`, with its
    weights. The weights do not depend on the input size; only the layers that resize do."""
    if int(model.input_shape[1]) == size:
        return model
    architecture, _, backbone = model.name.partition("_")
    if architecture not in ARCHITECTURE_BUILDERS:
        raise ValueError(f"model {model.name!r}: only a model of build_model (named "
                         "architecture_backbone) can be rebuilt at another input size")
    other = merge(params, {"data": {"image_size": size},
                           "model": {"encoder_weights": None, "weights_path": None}})
    resized = build_model({"architecture": architecture, "backbone": backbone}, other)
    resized.set_weights(model.get_weights())
    return tf.keras.Model(resized.inputs, resized.outputs, name=f"{model.name}_at_{size}")


def multi_scale(model: tf.keras.Model, params: dict, scales: list[float]) -> tf.keras.Model:
    """`model` applied at each of `scales` (`eval.scales`, multiples of its input side), as one
    model whose input and output side is the largest of them: its images are area-resized to
    each scale's side, and the probabilities resized back (bilinear) and averaged. Scales
    [1.0]: `model` itself."""
    size = int(model.input_shape[1])
    sides = sorted({scaled_side(size, scale) for scale in scales})
    if sides == [size]:
        return model
    top = sides[-1]
    images = tf.keras.Input((top, top, 3), name="image")
    outputs = []
    for side in sides:
        x = images
        if side != top:
            x = tf.keras.layers.Resizing(side, side, interpolation="area",
                                         name=f"image_at_{side}")(images)
        x = at_input_size(model, params, side)(x)
        if side != top:
            x = tf.keras.layers.Resizing(top, top, name=f"probabilities_from_{side}")(x)
        outputs.append(x)
    mean = tf.keras.layers.Average(name="scales_mean")(outputs) if len(outputs) > 1 else outputs[0]
    return tf.keras.Model(images, mean, name=f"{model.name}_scales")
