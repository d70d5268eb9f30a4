"""Architecture name -> builder of its network: the one table `build_model` looks names up in.

Each builder takes the backbone, the keyword arguments every architecture shares
(`input_shape`, `classes`, `activation`, `encoder_weights`) and the `model` params, and
returns the network's logits. `facelib.core.catalog.ARCHITECTURES` lists the same names
for params checks without TensorFlow (a test keeps the two in step).
"""

from __future__ import annotations

from facelib.models import sm
from facelib.models.deeplabv3plus import DeepLabV3Plus


def unet(backbone: str, common: dict, model_params: dict):
    return sm.Unet(backbone, decoder_filters=tuple(model_params["unet_decoder_filters"]),
                   **common)


def linknet(backbone: str, common: dict, model_params: dict):
    return sm.Linknet(backbone, **common)


def fpn(backbone: str, common: dict, model_params: dict):
    return sm.FPN(backbone, pyramid_dropout=model_params["dropout"] or None, **common)


def pspnet(backbone: str, common: dict, model_params: dict):
    return sm.PSPNet(backbone, downsample_factor=model_params["pspnet_downsample_factor"],
                     psp_conv_filters=model_params["pspnet_conv_filters"],
                     psp_dropout=model_params["dropout"] or None, **common)


def deeplabv3plus(backbone: str, common: dict, model_params: dict):
    return DeepLabV3Plus(backbone, atrous_rates=tuple(model_params["deeplab_atrous_rates"]),
                         output_stride=model_params["deeplab_output_stride"],
                         filters=model_params["deeplab_filters"],
                         decoder_stride=model_params["deeplab_decoder_stride"],
                         dropout=model_params["dropout"], **common)


ARCHITECTURE_BUILDERS = {
    "unet": unet,
    "linknet": linknet,
    "fpn": fpn,
    "pspnet": pspnet,
    "deeplabv3plus": deeplabv3plus,
}
