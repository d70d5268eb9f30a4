"""The peer section's facelib worker: `python -m benchmarks.peer_facelib --model NAME ...`
trains facelib's model from scratch on one in-memory batch and prints one JSON line: images/s,
parameters, convolution GMACs per image, versions and notes.

The step is facelib's own: `build_model` and `compile_model` (with its training metrics and
`configure_tensorflow`'s seeds and op determinism, as `facelib train` runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import tensorflow as tf

from benchmarks.op_profile import tensorflow_op_times
from benchmarks.peer import peer_params, training_batch
from benchmarks.training import fit_images_per_second
from facelib.engine.training import compile_model, configure_tensorflow
from facelib.models import build_model
from facelib.models.layers import AtrousConv2D


def layers_of(model: tf.keras.Model):
    """Every layer of `model`, inside nested models too."""
    for layer in model.layers:
        if isinstance(layer, tf.keras.Model):
            yield from layers_of(layer)
        else:
            yield layer


def conv_macs(model: tf.keras.Model) -> int:
    """Multiply-accumulates per image of the convolutions and dense layers (what dominates a
    step); elementwise ops, normalisation and resizing are left out, as in `peer_smp`."""
    total = 0
    for layer in layers_of(model):
        if not isinstance(layer, (tf.keras.layers.Conv2D, tf.keras.layers.DepthwiseConv2D,
                                  tf.keras.layers.Dense, AtrousConv2D)):
            continue
        shape = layer.input.shape
        channels_in = int(shape[-1])
        height, width = (shape[1], shape[2]) if len(shape) == 4 else (1, 1)
        out_positions = int(np.prod(layer.output.shape[1:-1]))
        if isinstance(layer, tf.keras.layers.DepthwiseConv2D):
            kh, kw = layer.kernel_size
            total += out_positions * kh * kw * int(layer.output.shape[-1])
        elif isinstance(layer, AtrousConv2D):
            taps = len(layer.taps(height, width))
            total += out_positions * taps * channels_in * layer.filters
        elif isinstance(layer, tf.keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            total += out_positions * kh * kw * channels_in // layer.groups * layer.filters
        else:
            total += out_positions * channels_in * layer.units
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peer_facelib")
    parser.add_argument("--model", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--profile-steps", type=int, default=0,
                        help="steps profiled by op after the timed ones (0: none)")
    args = parser.parse_args(argv)

    params = peer_params(args.model, args.size, args.batch)
    configure_tensorflow(params)
    architecture, backbone = args.model.split("_", 1)
    model = build_model({"architecture": architecture, "backbone": backbone}, params)
    compile_model(model, params)
    n_classes = len(params["data"]["classes"])
    images, labels = training_batch(args.size, args.batch, n_classes)
    batch = (tf.constant(images), tf.one_hot(labels, n_classes))
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    fit_images_per_second(model, dataset, args.batch, args.warmup)
    cpu_start = time.process_time()
    ips = fit_images_per_second(model, dataset, args.batch, args.steps)
    cpu_seconds = time.process_time() - cpu_start  # of steps + 1: a fit's first is untimed
    op_times = (tensorflow_op_times(lambda steps: model.fit(dataset, epochs=1,
                                                            steps_per_epoch=steps, verbose=0),
                                    args.profile_steps) if args.profile_steps else None)
    print(json.dumps({
        "framework": "facelib", "model": args.model, "ips": ips,
        "cpu_ms_per_image": 1000 * cpu_seconds / ((args.steps + 1) * args.batch),
        "parameters": int(model.count_params()), "conv_gmacs": conv_macs(model) / 1e9,
        "op_times": op_times,
        "versions": {"tensorflow": tf.__version__},
        "notes": ("facelib's step: its model (preprocessing and softmax inside), loss "
                  f"{' + '.join(params['train']['loss'])}, its four training metrics, op "
                  f"determinism {'on' if params['train']['deterministic'] else 'off'}; "
                  f"threads intra {tf.config.threading.get_intra_op_parallelism_threads()}"
                  f", inter {tf.config.threading.get_inter_op_parallelism_threads()} "
                  "(0: TensorFlow's default)"),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
