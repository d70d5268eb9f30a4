"""Where a training step's time goes: self time per op type, from each framework's profiler.

`tensorflow_op_times(run_steps, steps)` traces `steps` steps with the TensorFlow profiler and
reads the host trace (XPlane); `torch_op_times(run_steps, steps)` does the same with
`torch.profiler`. Both return the op types by self time (an op's time minus the ops it
encloses), in milliseconds per step, largest first. TensorFlow runs independent ops side by
side on its inter-op threads, so its per-step sum can exceed the step's wall time; PyTorch's
ops run one after another on the calling thread. Only the framework whose function is called
is imported.
"""

from __future__ import annotations

import collections
import re
import tempfile
from pathlib import Path

TOP_OPS = 12
OP_EVENT = re.compile(r"^[^\s:]+:(_?[A-Z][A-Za-z0-9_]*)$")
# TensorFlow op types, grouped the way the question is asked (are depthwise gradients the slow
# path?), matched on the op type without oneDNN's `_Mkl`/`_MklNative` and fusion's `_Fused`.
TENSORFLOW_GROUPS = (
    ("depthwise convolution, backward", ("DepthwiseConv2dNativeBackprop",)),
    ("depthwise convolution, forward", ("DepthwiseConv2dNative",)),
    ("convolution, backward", ("Conv2DBackprop",)),
    ("convolution, forward", ("Conv2D",)),
    ("batch normalisation", ("FusedBatchNorm",)),
    ("resize", ("Resize",)),
)
# TensorFlow ops that only enclose others (function calls, control flow)
TENSORFLOW_ENCLOSING = ("PartitionedCall", "StatefulPartitionedCall", "While", "If")


def _op_type(name: str) -> str | None:
    """`scope/op:Type` (an op's event) -> `Type`; None for the runtime's own events
    (`ExecutorState::Process`, `EagerLocalExecute: ReadVariableOp`, ...)."""
    match = OP_EVENT.match(name)
    return match[1] if match else None


def _base_type(op_type: str) -> str:
    """`_MklNativeFusedConv2D` -> `Conv2D`: the op without oneDNN's and fusion's prefixes."""
    stripped = op_type.lstrip("_")
    for prefix in ("Mkl", "Native", "Fused"):
        if stripped.startswith(prefix) and not stripped.startswith("FusedBatchNorm"):
            stripped = stripped[len(prefix):]
    return stripped


def _self_times(events) -> dict[str, float]:
    """Self time in picoseconds per op type, from one thread's (start, end, name) events."""
    totals: collections.Counter = collections.Counter()
    stack: list[list] = []  # open events: [end, op type, duration, children's time]

    def close(item) -> None:
        end, op_type, duration, children = item
        if op_type is not None:
            totals[op_type] += duration - children

    for start, end, name in sorted(events, key=lambda e: (e[0], -e[1])):
        while stack and stack[-1][0] <= start:
            close(stack.pop())
        op_type = _op_type(name)
        if op_type in TENSORFLOW_ENCLOSING:
            op_type = None
        if stack:
            stack[-1][3] += end - start
        stack.append([end, op_type, end - start, 0])
    while stack:
        close(stack.pop())
    return totals


def _per_step(totals: dict[str, float], scale: float, steps: int) -> dict[str, float]:
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return {name: round(value * scale / steps, 3) for name, value in ranked}


def tensorflow_op_times(run_steps, steps: int) -> dict:
    """Trace `run_steps(steps)` (TensorFlow) and return ms per step by op type and group."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    with tempfile.TemporaryDirectory(prefix="facelib-profile-") as folder:
        tf.profiler.experimental.start(folder)
        try:
            run_steps(steps)
        finally:
            tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        space.ParseFromString(next(Path(folder).rglob("*.xplane.pb")).read_bytes())
    totals: collections.Counter = collections.Counter()
    for plane in space.planes:
        if not plane.name.startswith("/host:"):
            continue
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            events = [(e.offset_ps, e.offset_ps + e.duration_ps, names.get(e.metadata_id, ""))
                      for e in line.events]
            totals.update(_self_times(events))
    groups: collections.Counter = collections.Counter()
    for op_type, picoseconds in totals.items():
        group = next((label for label, prefixes in TENSORFLOW_GROUPS
                      if _base_type(op_type).startswith(prefixes)), "everything else")
        groups[group] += picoseconds
    ops = _per_step(totals, 1e-9, steps)
    return {"ms_per_step_summed": round(sum(ops.values()), 3),
            "groups": _per_step(groups, 1e-9, steps),
            "top_ops": dict(list(ops.items())[:TOP_OPS])}


def torch_op_times(run_steps, steps: int) -> dict:
    """Profile `run_steps(steps)` (PyTorch) and return ms per step by op, largest first."""
    import torch

    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        run_steps(steps)
    totals = {event.key: event.self_cpu_time_total for event in profile.key_averages()}
    ops = _per_step(totals, 1e-3, steps)
    return {"ms_per_step_summed": round(sum(ops.values()), 3),
            "top_ops": dict(list(ops.items())[:TOP_OPS])}
