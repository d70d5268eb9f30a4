"""DeepLabV3+ (Chen et al., 2018) on any segmentation-models backbone.

segmentation-models has no DeepLab; this one takes its encoder from sm's backbone registry,
like sm's own architectures: `sm.Backbones.get_feature_layers(name, n=4)` lists each backbone's
layers at output strides 16, 8, 4 and 2.

High-level features come from the stride-16 layer; `output_stride=8` takes the stride-8 layer
instead. The backbone's convolutions are not dilated: the encoder is cut at that layer and its
deeper stages are left out (with 8, a shallower, finer encoder, not DeepLab's dilated one).
ASPP's atrous convolutions are AtrousConv2D layers: the same convolutions, fast on CPU.
"""

from __future__ import annotations

import tensorflow as tf

from facelib.models import sm
from facelib.models.layers import AtrousConv2D

STRIDE_INDEX = {16: 0, 8: 1, 4: 2, 2: 3}  # position in sm's feature-layer list


def _layer_output(backbone: tf.keras.Model, layer: str | int):
    if isinstance(layer, str):
        return backbone.get_layer(name=layer).output
    return backbone.get_layer(index=layer).output


def _bn_relu(x, name: str):
    x = tf.keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return tf.keras.layers.ReLU(name=f"{name}_relu")(x)


def _conv_bn_relu(x, filters: int, kernel_size: int, name: str):
    x = tf.keras.layers.Conv2D(filters, kernel_size, padding="same", use_bias=False,
                               kernel_initializer="he_uniform", name=name)(x)
    return _bn_relu(x, name)


def _resize_to(x, reference, name: str):
    height, width = reference.shape[1:3]
    return tf.keras.layers.Resizing(height, width, interpolation="bilinear", name=name)(x)


def aspp(x, filters: int, atrous_rates: tuple[int, ...]):
    """Atrous spatial pyramid pooling: 1x1 conv, 3x3 convs at `atrous_rates`, image pooling."""
    branches = [_conv_bn_relu(x, filters, 1, "aspp_1x1")]
    for i, rate in enumerate(atrous_rates, start=1):
        name = f"aspp_atrous{i}"
        branches.append(_bn_relu(AtrousConv2D(filters, rate, name=name)(x), name))
    pooled = tf.keras.layers.GlobalAveragePooling2D(keepdims=True, name="aspp_pooling")(x)
    pooled = _conv_bn_relu(pooled, filters, 1, "aspp_pooling_conv")
    branches.append(_resize_to(pooled, x, "aspp_pooling_upsampling"))
    x = tf.keras.layers.Concatenate(name="aspp_concat")(branches)
    return _conv_bn_relu(x, filters, 1, "aspp_projection")


def DeepLabV3Plus(  # noqa: N802 (named like sm's model functions)
    backbone_name: str = "efficientnetb0",
    input_shape: tuple[int, int, int] = (256, 256, 3),
    classes: int = 21,
    activation: str = "softmax",
    encoder_weights: str | None = None,
    atrous_rates: tuple[int, ...] = (6, 12, 18),
    output_stride: int = 16,
    filters: int = 256,
    low_level_filters: int = 48,
    dropout: float = 0.0,
    decoder_stride: int = 4,
) -> tf.keras.Model:
    """DeepLabV3+ whose output has the input's height and width.

    Encoder features at `output_stride` (16 or 8) -> ASPP -> (dropout) -> bilinear upsampling
    to the stride-4 features, concatenated with them after a 1x1 conv to `low_level_filters`
    -> two 3x3 convs -> 1x1 classifier -> bilinear upsampling to the input size -> activation.
    `decoder_stride=2` adds a finer step before the classifier: the decoder's output, cut to a
    quarter of its channels by a 1x1 conv, is upsampled to the stride-2 features, concatenated
    with them after a 1x1 conv to half of `low_level_filters`, and passed through one 3x3 conv
    of a quarter of `filters`; thin parts then get edges from a grid twice as fine.
    Convs are followed by BatchNorm and ReLU. `encoder_weights` is None or a path the backbone
    library loads (see facelib.models.weights). The input is what the backbone expects
    (see BackbonePreprocessing); any height and width of at least 32 work.
    """
    if output_stride not in (8, 16):
        raise ValueError(f"output_stride = {output_stride}: expected 8 or 16")
    if decoder_stride not in (2, 4):
        raise ValueError(f"decoder_stride = {decoder_stride}: expected 2 or 4")
    backbone = sm.Backbones.get_backbone(
        backbone_name, input_shape=input_shape, weights=encoder_weights, include_top=False,
        backend=tf.keras.backend, layers=tf.keras.layers, models=tf.keras.models,
        utils=tf.keras.utils,
    )
    feature_layers = sm.Backbones.get_feature_layers(backbone_name, n=4)
    high = _layer_output(backbone, feature_layers[STRIDE_INDEX[output_stride]])
    low = _layer_output(backbone, feature_layers[STRIDE_INDEX[4]])

    x = aspp(high, filters, tuple(atrous_rates))
    if dropout:
        x = tf.keras.layers.Dropout(dropout, name="aspp_dropout")(x)
    x = _resize_to(x, low, "decoder_upsampling")
    low = _conv_bn_relu(low, low_level_filters, 1, "decoder_low_level")
    x = tf.keras.layers.Concatenate(name="decoder_concat")([x, low])
    x = _conv_bn_relu(x, filters, 3, "decoder_conv1")
    x = _conv_bn_relu(x, filters, 3, "decoder_conv2")
    if decoder_stride == 2:
        fine = _layer_output(backbone, feature_layers[STRIDE_INDEX[2]])
        x = _conv_bn_relu(x, max(filters // 4, 1), 1, "decoder_fine_reduce")
        x = _resize_to(x, fine, "decoder_fine_upsampling")
        fine = _conv_bn_relu(fine, max(low_level_filters // 2, 1), 1, "decoder_fine_level")
        x = tf.keras.layers.Concatenate(name="decoder_fine_concat")([x, fine])
        x = _conv_bn_relu(x, max(filters // 4, 1), 3, "decoder_fine_conv")
    x = tf.keras.layers.Conv2D(classes, 1, name="final_conv")(x)
    x = _resize_to(x, backbone.input, "final_upsampling")
    x = tf.keras.layers.Activation(activation, name=activation)(x)
    return tf.keras.Model(backbone.input, x, name=f"deeplabv3plus_{backbone_name}")
