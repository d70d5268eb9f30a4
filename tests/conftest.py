"""`import facelib` selects tf-keras for segmentation-models; it must run before any test
module imports TensorFlow, or `tf.keras` mixes Keras 3 into the models."""

import facelib  # noqa: F401
