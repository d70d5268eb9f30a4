"""Which process of a multi-worker training this is, from `TF_CONFIG`.

Under `train.strategy: multiworker` every worker runs the same `facelib train` with its own
`TF_CONFIG`; the chief (task `chief`, else `worker` 0, TensorFlow's rule) writes the run
folder, the others only compute and take part in the collectives (saving included).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import tensorflow as tf
from tensorflow.python.eager import context

from facelib.core.errors import FacelibError


class ClusterConfigError(FacelibError, ValueError):
    """TF_CONFIG is not a cluster and task that MultiWorkerMirroredStrategy can use."""


def tf_config() -> dict:
    """The parsed `TF_CONFIG` ({} when unset): {"cluster": {job: [host:port, ...]},
    "task": {"type": job, "index": i}}, checked so that a mistake is one line."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ClusterConfigError(f"TF_CONFIG is not JSON: {error}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ClusterConfigError('TF_CONFIG needs "cluster" and "task", e.g. {"cluster": '
                                 '{"worker": ["host0:port", "host1:port"]}, "task": '
                                 '{"type": "worker", "index": 0}}')
    kind, index = task.get("type"), task.get("index", 0)
    hosts = cluster.get(kind)
    if not isinstance(hosts, list) or not isinstance(index, int) or not 0 <= index < len(hosts):
        raise ClusterConfigError(f"TF_CONFIG task {kind!r} {index!r} is not in its cluster: "
                                 f"{json.dumps(cluster)}")
    return config


def is_chief(params: dict) -> bool:
    """True for the process that writes the run folder: always, unless `train.strategy` is
    multiworker and TF_CONFIG names a task other than the chief."""
    if params["train"]["strategy"] != "multiworker":
        return True
    config = tf_config()
    if not config:
        return True
    kind, index = config["task"]["type"], config["task"].get("index", 0)
    if "chief" in config["cluster"]:
        return kind == "chief"
    return kind == "worker" and index == 0


class ChiefStoppedError(FacelibError, RuntimeError):
    """The chief stopped before it wrote the run folder."""


def worker_count(params: dict) -> int:
    """The number of processes that train together (1 unless multiworker with TF_CONFIG)."""
    if params["train"]["strategy"] != "multiworker":
        return 1
    cluster = tf_config().get("cluster", {})
    return sum(len(cluster.get(job, [])) for job in ("chief", "worker")) or 1


def results_written(key: str) -> None:
    """The chief: tell the other workers that the results of `key` are written."""
    context.context().set_config_key_value(f"facelib/{key}", "written")


def wait_for_results(key: str, written: Path, since: float) -> None:
    """Another worker: wait until the chief has written the results of `key` (its
    evaluation comes after the training), so that every worker ends with the run; a worker
    that left earlier would be reported by the chief's TensorFlow as a crashed task.

    The key-value store is that of TensorFlow's coordination service, which
    MultiWorkerMirroredStrategy starts on the chief. The chief may set the key and exit
    before the answer reaches this worker: where the output folder is shared, the results
    file `written` (written before the key) then says that the chief finished, if it was
    written at `since` (a time.time() from before this training) or later: one left by an
    earlier training of the run says nothing."""
    try:
        context.context().get_config_key_value(f"facelib/{key}")
    except tf.errors.UnavailableError as error:
        if written.exists() and written.stat().st_mtime >= since:
            return
        raise ChiefStoppedError(f"{key}: the chief stopped before it wrote the results "
                                f"(see its log): {error.message.splitlines()[0]}") from None
