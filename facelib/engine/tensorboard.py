"""`train.tensorboard: true`: TensorBoard logs of a training in its run folder.

Keras' TensorBoard callback writes `RUN/tensorboard/train/` and `RUN/tensorboard/validation/`
(the loss and metrics of each epoch, and the model's graph). Writing scalars needs the
`tensorboard` package (the extra `tensorboard`), so its absence stops a run before it trains.
View the runs of a profile side by side: `tensorboard --logdir outputs/<profile>/runs`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import tensorflow as tf

from facelib.core.params import ParamsError

TENSORBOARD_DIR = "tensorboard"


def tensorboard_callback(folder: Path) -> tf.keras.callbacks.TensorBoard:
    if importlib.util.find_spec("tensorboard") is None:
        raise ParamsError('train.tensorboard = true needs the tensorboard package: '
                          'pip install -e ".[tensorboard]" (or set train.tensorboard: false)')
    return tf.keras.callbacks.TensorBoard(log_dir=str(Path(folder) / TENSORBOARD_DIR))
