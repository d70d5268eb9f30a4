"""Start a model from a finished facelib run's weights (`model.init_from: RUN_DIR`).

Layers are matched by name, inside nested models too (the `core` of every facelib model);
a layer takes the run's weights only when every one of its weight shapes matches. Layers
that differ, such as the head of a model with another number of classes, keep their fresh
initialisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import tensorflow as tf

from facelib.core.errors import FacelibError
from facelib.models.saving import load_model

MODEL_FILE = "model.keras"


class InitFromError(FacelibError, ValueError):
    """`model.init_from` names no finished run or model file."""


@dataclass
class InitReport:
    """Which layers (with weights) took the run's weights, and which kept their own."""

    source: Path
    copied: list[str] = field(default_factory=list)
    shape_differs: list[str] = field(default_factory=list)
    not_in_source: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"init_from {self.source}: {len(self.copied)} layers copied, "
                f"{len(self.shape_differs)} re-initialised (other shapes: "
                f"{', '.join(self.shape_differs) or 'none'}), "
                f"{len(self.not_in_source)} not in the source")


def model_file(init_from: str | Path) -> Path:
    """The `.keras` file of a run folder (or the file itself); InitFromError if absent."""
    path = Path(init_from)
    candidate = path / MODEL_FILE if path.is_dir() else path
    if not candidate.is_file():
        raise InitFromError(f"model.init_from = {str(init_from)!r}: no {MODEL_FILE} there "
                            "(expected a finished run folder, e.g. outputs/demo/runs/NAME)")
    return candidate


def layers_by_name(model: tf.keras.Model, prefix: str = "") -> dict[str, tf.keras.layers.Layer]:
    """Every layer holding weights, nested models flattened, by `outer/inner` name."""
    found = {}
    for layer in model.layers:
        name = f"{prefix}{layer.name}"
        if isinstance(layer, tf.keras.Model):
            found.update(layers_by_name(layer, f"{name}/"))
        elif layer.weights:
            found[name] = layer
    return found


def copy_weights(target: tf.keras.Model, source: tf.keras.Model,
                 report: InitReport | None = None) -> InitReport:
    """Copy `source`'s weights into the layers of `target` of the same name and shapes."""
    report = report or InitReport(Path(source.name))
    sources = layers_by_name(source)
    for name, layer in layers_by_name(target).items():
        other = sources.get(name)
        if other is None:
            report.not_in_source.append(name)
            continue
        mine, theirs = layer.get_weights(), other.get_weights()
        if len(mine) != len(theirs) or any(a.shape != b.shape
                                           for a, b in zip(mine, theirs, strict=True)):
            report.shape_differs.append(name)
            continue
        layer.set_weights(theirs)
        report.copied.append(name)
    return report


def init_from_run(model: tf.keras.Model, init_from: str | Path) -> InitReport:
    """Load the run's model and copy its weights into `model` (see the module's docstring).

    InitFromError if no layer at all could be copied: the run is not of this architecture.
    """
    path = model_file(init_from)
    report = copy_weights(model, load_model(path), InitReport(path))
    if not report.copied:
        raise InitFromError(f"model.init_from = {str(init_from)!r}: no layer of {path} fits "
                            f"{model.name} (another architecture or backbone?)")
    return report
