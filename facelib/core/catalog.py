"""Names of the architectures and backbones facelib can build, readable without TensorFlow.

`facelib.models.registry` maps each architecture name to its builder (a test keeps the two
in step).

The backbone list is segmentation-models 1.0.1's `Backbones.models_names()`, kept here so
that params are checked in a fraction of a second; a test keeps the two in step.
"""

ARCHITECTURES = ("unet", "linknet", "fpn", "pspnet", "deeplabv3plus")

BACKBONES = (
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "seresnet18", "seresnet34", "seresnet50", "seresnet101", "seresnet152",
    "seresnext50", "seresnext101", "senet154", "resnext50", "resnext101",
    "vgg16", "vgg19", "densenet121", "densenet169", "densenet201",
    "inceptionresnetv2", "inceptionv3", "mobilenet", "mobilenetv2",
    "efficientnetb0", "efficientnetb1", "efficientnetb2", "efficientnetb3",
    "efficientnetb4", "efficientnetb5", "efficientnetb6", "efficientnetb7",
)

# How each backbone expects its input, as `sm.get_preprocessing(name)` transforms 0..255 RGB:
# none: unchanged; tf: scaled to -1..1; torch: scaled to 0..1, then normalised by the ImageNet
# mean and std; caffe: channels reversed to BGR, then the ImageNet mean (in BGR) subtracted.
PREPROCESSING = {
    name: mode
    for mode, names in {
        "none": ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                 "seresnet18", "seresnet34", "resnext50", "resnext101"),
        "torch": ("seresnet50", "seresnet101", "seresnet152", "seresnext50", "seresnext101",
                  "senet154", "densenet121", "densenet169", "densenet201",
                  *(f"efficientnetb{i}" for i in range(8))),
        "tf": ("inceptionresnetv2", "inceptionv3", "mobilenet", "mobilenetv2"),
        "caffe": ("vgg16", "vgg19"),
    }.items()
    for name in names
}
