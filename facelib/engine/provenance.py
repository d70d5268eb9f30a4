"""`provenance.json` of a finished run (`facelib.core.provenance`), with the GPUs that
TensorFlow sees."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from facelib.core.provenance import provenance, write_provenance
from facelib.data.fingerprint import data_fingerprint


def gpu_names() -> list[str]:
    """Each GPU's model name where TensorFlow knows it, else its device name."""
    gpus = tf.config.list_physical_devices("GPU")
    return [tf.config.experimental.get_device_details(g).get("device_name") or g.name
            for g in gpus]


def write_run_provenance(folder: Path, params_text: str, splits: dict, source) -> Path:
    """Record the code, packages, machine, data (`splits` of `source`) and params of a run."""
    record = provenance(params_text, data_fingerprint(splits, source.root), gpus=gpu_names())
    return write_provenance(folder, record)
