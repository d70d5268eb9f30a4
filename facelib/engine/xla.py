"""What `train.xla: true` cannot train with TensorFlow 2.21, said before training starts.

Otherwise the first step fails with a long tf2xla error, on CPU and GPU alike:
- nearest-neighbour upsampling (the U-Net, LinkNet and FPN decoders): tf2xla has no gradient
  kernel for it (tensorflow/tensorflow#60203);
- bilinear upsampling computed in float16 or bfloat16 (PSPNet under mixed precision): tf2xla's
  gradient returns float32 into the 16-bit layers (tensorflow/tensorflow#81273);
- max pooling under `train.deterministic` (the ResNet, VGG, DenseNet... encoders): XLA has no
  deterministic max-pool gradient.
facelib's DeepLabV3+ resizes with `Resizing` layers and trains under XLA at any precision.
tests/test_gpu_path.py checks on CPU that each case still fails in TensorFlow.
"""

from __future__ import annotations

import tensorflow as tf

from facelib.core.params import ParamsError


def xla_obstacles(model: tf.keras.Model, train_params: dict) -> dict[str, str]:
    """Why XLA cannot train `model` with `train_params`: {kind: reason}, one layer named per
    kind (nearest, bilinear, max_pool); empty if it can."""
    found: dict[str, str] = {}
    for layer in model.submodules:
        if isinstance(layer, tf.keras.layers.UpSampling2D) and layer.interpolation == "nearest":
            found.setdefault("nearest", "XLA has no gradient for its nearest-neighbour "
                                        f"upsampling ({layer.name})")
        elif (isinstance(layer, tf.keras.layers.UpSampling2D)
              and layer.interpolation == "bilinear" and layer.compute_dtype != "float32"):
            found.setdefault("bilinear", f"XLA gives its {layer.compute_dtype} bilinear "
                                         f"upsampling ({layer.name}) a float32 gradient, set "
                                         "train.precision: float32")
        elif isinstance(layer, tf.keras.layers.MaxPooling2D) and train_params["deterministic"]:
            found.setdefault("max_pool", "XLA has no deterministic gradient for its max "
                                         f"pooling ({layer.name}), set train.deterministic: "
                                         "false")
    return found


def check_xla(model: tf.keras.Model, train_params: dict) -> None:
    """Raise ParamsError if `train.xla: true` cannot train `model`."""
    if not train_params["xla"]:
        return
    obstacles = xla_obstacles(model, train_params)
    if obstacles:
        fix = "set train.xla: false" if "nearest" in obstacles else "or set train.xla: false"
        raise ParamsError(f"train.xla: true cannot train {model.name}: "
                          f"{'; '.join(obstacles.values())}; {fix}")
