"""`train.strategy: mirrored` trains with TensorFlow's own engine, here on two logical CPUs:
each replica takes half the batch, and the logged loss is the mean of the halves' losses."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import numpy as np
import facelib
import tensorflow as tf
from facelib.models import build_model
from facelib.models.losses import build_loss
from facelib.core.params import load_params
from facelib.engine.training import compile_model, configure_tensorflow

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
params = load_params("params/quick.yaml", ["train.strategy=mirrored", "data.image_size=64"])
strategy = configure_tensorflow(params)
with strategy.scope():
    model = build_model({"architecture": "unet", "backbone": "resnet18"}, params)
    compile_model(model, params)
rng = np.random.default_rng(0)
images = rng.uniform(0, 255, (4, 64, 64, 3)).astype("float32")
targets = tf.one_hot(rng.integers(0, 8, (4, 64, 64)), 8)
# Each replica's loss, from the weights before the step (batch statistics: training mode).
loss = build_loss(params["train"], 8)
halves = [float(loss(targets[i:i + 2], model(images[i:i + 2], training=True))) for i in (0, 2)]
before = [w.numpy().copy() for w in model.trainable_weights[:3]]
history = model.fit(tf.data.Dataset.from_tensor_slices((images, targets)).batch(4), epochs=1,
                    verbose=0)
changed = any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
print("replicas", strategy.num_replicas_in_sync, "loss", history.history["loss"][0],
      "halves", *halves, "changed", changed)
"""


@pytest.mark.slow
def test_one_step_under_mirrored_strategy_on_two_logical_cpus():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    words = done.stdout.split()
    assert words[words.index("replicas") + 1] == "2"
    first = words.index("halves") + 1
    halves = [float(w) for w in words[first:first + 2]]
    # The loss of the whole batch of 4 differs from this mean by about 5e-4 (relative).
    assert float(words[words.index("loss") + 1]) == pytest.approx(np.mean(halves), rel=1e-5)
    assert words[words.index("changed") + 1] == "True"
