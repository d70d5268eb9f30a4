"""Params: YAML profiles read over facelib's defaults, with `--set KEY=VALUE` overrides.

Every value is checked against `defaults.yaml` before any heavy work: an unknown key, a wrong
type or an impossible value raises ParamsError naming the file, the key, the value and what
is allowed.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import yaml

from facelib.core.catalog import ARCHITECTURES, BACKBONES
from facelib.core.errors import FacelibError
from facelib.core.scheme import ClassScheme

DEFAULTS_FILE = Path(__file__).parents[1] / "defaults.yaml"

# Keys whose value is one of a fixed set.
CHOICES = {
    "data.source": ("synthetic", "folder", "shards"),
    "data.split.mode": ("grouped", "folders"),
    "data.split.group_by": ("subject", "none"),
    "data.image_resize": ("area", "bilinear"),
    "data.synthetic.version": (2, 3),
    "data.on_bad_sample": ("error", "skip"),
    "model.encoder_weights": ("imagenet", None),
    "model.pspnet_downsample_factor": (4, 8, 16),
    "model.deeplab_output_stride": (8, 16),
    "model.deeplab_decoder_stride": (2, 4),
    "train.optimizer": ("sgd", "adam"),
    "train.lr_schedule": ("plateau", "cosine"),
    "train.precision": ("float32", "mixed_bfloat16", "mixed_float16"),
    "train.strategy": ("default", "mirrored", "multiworker"),
}
# Keys whose value lies in a range: (low, high, low_inclusive, high_inclusive).
RANGES = {
    "data.split.test_fraction": (0, 1, False, False),
    "data.split.val_fraction": (0, 1, False, False),
    "data.synthetic.train": (1, None, True, True),
    "data.synthetic.val": (0, None, True, True),
    "data.image_size": (32, None, True, True),
    "data.augment.rotate_degrees": (0, 180, True, True),
    "data.augment.scale": (0, 1, True, False),
    "data.augment.brightness": (0, 1, True, True),
    "data.augment.contrast": (0, 1, True, False),
    "data.augment.saturation": (0, 1, True, True),
    "data.augment.hue": (0, 0.5, True, True),
    "data.crop.margin": (0, 2, True, True),
    "data.crop.jitter_shift": (0, 0.5, True, True),
    "data.crop.jitter_scale": (0, 1, True, False),
    "data.crop.whole_photo": (0, 1, True, True),
    "data.crop.min_score": (0, 1, True, True),
    "data.crop.coarse_grid": (1, 4, True, True),
    "model.dropout": (0, 1, True, False),
    "model.batchnorm_momentum": (0, 1, True, False),
    "model.deeplab_filters": (1, None, True, True),
    "model.pspnet_conv_filters": (1, None, True, True),
    "train.epochs": (1, None, True, True),
    "train.batch_size": (1, None, True, True),
    "train.steps_per_epoch": (1, None, True, True),
    "train.learning_rate": (0, None, False, True),
    "train.momentum": (0, 1, True, False),
    "train.reduce_lr.factor": (0, 1, False, False),
    "train.reduce_lr.patience": (0, None, True, True),
    "train.early_stopping.patience": (0, None, True, True),
    "eval.batch_size": (1, None, True, True),
    "eval.example_count": (0, None, True, True),
    "eval.timing_batches": (1, None, True, True),
    "eval.refine.radius": (0, 64, True, True),
    "eval.refine.eps": (0, None, False, True),
}
# Keys whose value is a list of positive integers: its length (None: any, at least one).
POSITIVE_INT_LISTS = {"model.deeplab_atrous_rates": None, "model.unet_decoder_filters": 5}
# Keys whose value is a list of numbers in a range (low, high], at least one.
NUMBER_LISTS = {"eval.scales": (0, 4)}
# Keys whose default is null, and the types they take otherwise.
NULLABLE = {
    "profile": str,
    "output_dir": str,
    "data.root": str,
    "model.weights_path": str,
    "model.init_from": str,
    "model.batchnorm_momentum": float,
    "train.steps_per_epoch": int,
    "train.class_weights": list,
}
LOSSES = ("dice", "cce", "jaccard", "focal")
# What an entry of `models` may set for that model alone: sections and their keys (None: any).
MODEL_OVERRIDES = {"data": ["image_size", "face_crop", "crop"], "model": None, "train": None}


class ParamsError(FacelibError, ValueError):
    """A params file or override that facelib cannot use; the message says why."""


def load_defaults() -> dict:
    with open(DEFAULTS_FILE) as f:
        return yaml.safe_load(f)


def project_root(start: Path | None = None) -> Path:
    """The folder holding params/ and notebooks/, searched upwards from `start` (cwd)."""
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "params").is_dir() and (folder / "notebooks").is_dir():
            return folder
    return start


def dotted_overrides(items: list[str] | None) -> dict:
    """`["train.epochs=4", "output_dir=x"]` -> `{"train.epochs": 4, "output_dir": "x"}`;
    values are read as YAML."""
    flat: dict = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ParamsError(f"--set {item!r}: expected KEY=VALUE, e.g. train.epochs=4")
        flat[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
    return flat


def nest(flat: dict) -> dict:
    """`{"train.epochs": 4}` -> `{"train": {"epochs": 4}}`; nested values stay as they are."""
    nested: dict = {}
    for key, value in flat.items():
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ParamsError(f"--set {key}: {part!r} is set twice")
        node[parts[-1]] = merge(node[parts[-1]], value) if isinstance(
            node.get(parts[-1]), dict) and isinstance(value, dict) else value
    return nested


def parse_overrides(items: list[str] | None) -> dict:
    """`["train.epochs=4", "output_dir=x"]` -> nested dict; values are read as YAML."""
    return nest(dotted_overrides(items))


def merge(base: dict, update: dict) -> dict:
    """Recursive merge; `data.classes` and lists are replaced, not merged."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "classes":
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_params(
    path: str | Path | None = None,
    overrides: list[str] | dict | None = None,
    **sections: Any,
) -> dict:
    """Read a profile over the defaults, apply overrides, check everything, resolve paths.

    `overrides`: `--set` strings, or a dict with dotted or nested keys (what a notebook's
    `overrides` parameter holds). A value set there wins over the same key in an entry of
    `models` (the entry's value is dropped). `sections` (e.g. `data={...}`) are merged too.
    """
    source = str(path) if path else "<parameters>"
    params = load_defaults()
    if path is not None:
        path = Path(path)
        try:
            with open(path) as f:
                profile = yaml.safe_load(f) or {}
        except FileNotFoundError:
            raise ParamsError(f"{path}: no such params file") from None
        except yaml.YAMLError as e:
            raise ParamsError(f"{path}: not valid YAML: {e}") from None
        if not isinstance(profile, dict):
            kind = type(profile).__name__
            raise ParamsError(f"{path}: expected a mapping of sections, got {kind}")
        check(profile, source)
        params = merge(params, profile)
        params["profile"] = path.stem
    given = {k: v for k, v in sections.items() if v not in (None, {}, [])}
    if given:
        check(given, source)
        params = merge(params, given)
    if overrides:
        extra = nest(overrides) if isinstance(overrides, dict) else parse_overrides(overrides)
        check(extra, "--set")
        params = merge(params, extra)
        params["models"] = [_without(entry, extra) for entry in params["models"]]
    check(params, source, complete=True)
    params["profile"] = params.get("profile") or "default"
    return params


def _without(entry: dict, overrides: dict) -> dict:
    """A `models` entry without the per-model values that `overrides` sets for all models."""
    entry = copy.deepcopy(entry)
    for section in MODEL_OVERRIDES:
        for key in overrides.get(section, {}) if section in entry else ():
            entry[section].pop(key, None)
        if section in entry and not entry[section]:
            del entry[section]
    return entry


def _fail(source: str, key: str, value: Any, allowed: str) -> None:
    raise ParamsError(f"{source}: {key} = {value!r} is not allowed; {allowed}")


def _type_name(value: Any) -> str:
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def check(params: dict, source: str, complete: bool = False) -> None:
    """Check keys, types and values of (part of) a params tree against the defaults."""
    defaults = load_defaults()
    _check_tree(params, defaults, source, prefix="")
    if complete:
        _check_relations(params, source)


def _check_tree(tree: dict, defaults: dict, source: str, prefix: str) -> None:
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise ParamsError(f"{source}: unknown key {dotted!r}; known keys here: {known}")
        default = defaults[key]
        if dotted == "data.classes":
            _check_classes(value, source)
        elif dotted == "models":
            _check_models(value, source)
        elif dotted == "train.loss":
            _check_loss(value, source)
        elif dotted in POSITIVE_INT_LISTS:
            _check_positive_ints(dotted, value, source)
        elif dotted in NUMBER_LISTS:
            _check_numbers(dotted, value, source)
        elif dotted in CHOICES:
            if value not in CHOICES[dotted]:
                shown = " | ".join("null" if c is None else str(c) for c in CHOICES[dotted])
                _fail(source, dotted, value, f"one of {shown}")
        elif value is None and default is None:
            continue
        elif default is None:
            wanted = NULLABLE[dotted]
            if not isinstance(value, wanted):
                _fail(source, dotted, value, f"expected null or {_type_name(wanted())}")
        elif isinstance(default, dict):
            if not isinstance(value, dict):
                _fail(source, dotted, value, "expected a mapping")
            _check_tree(value, default, source, prefix=dotted + ".")
            continue
        elif not _same_type(value, default):
            _fail(source, dotted, value, f"expected {_type_name(default)}")
        if dotted in RANGES and value is not None:
            _check_range(dotted, value, source)


def _same_type(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _check_range(key: str, value: Any, source: str) -> None:
    low, high, low_in, high_in = RANGES[key]
    ok = (low is None or value > low or (low_in and value == low)) and (
        high is None or value < high or (high_in and value == high)
    )
    if not ok:
        left = "[" if low_in else "("
        right = "]" if high_in else ")"
        shown_high = "inf" if high is None else high
        _fail(source, key, value, f"must lie in {left}{low}, {shown_high}{right}")


def _check_positive_ints(key: str, value: Any, source: str) -> None:
    length = POSITIVE_INT_LISTS[key]
    ok = (isinstance(value, list) and len(value) == (length or len(value)) and value
          and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value))
    if not ok:
        _fail(source, key, value, f"expected a list of {length or 'one or more'} positive integers")


def _check_numbers(key: str, value: Any, source: str) -> None:
    low, high = NUMBER_LISTS[key]
    ok = (isinstance(value, list) and value
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and low < v <= high
                  for v in value))
    if not ok:
        _fail(source, key, value, f"expected a list of one or more numbers above {low} and up "
              f"to {high}")


def _check_classes(classes: Any, source: str) -> None:
    if not isinstance(classes, dict) or len(classes) < 2:
        _fail(source, "data.classes", classes, "expected a mapping of at least two classes")
    for name, spec in classes.items():
        key = f"data.classes.{name}"
        if not isinstance(spec, dict) or set(spec) != {"ids", "color"}:
            _fail(source, key, spec, "expected {ids: [source ids], color: [r, g, b]}")
        ids, color = spec["ids"], spec["color"]
        if not isinstance(ids, list) or not all(isinstance(i, int) and 0 <= i <= 17 for i in ids):
            _fail(source, key + ".ids", ids, "expected a list of source ids 0..17")
        if not (isinstance(color, list) and len(color) == 3
                and all(isinstance(c, int) and 0 <= c <= 255 for c in color)):
            _fail(source, key + ".color", color, "expected [r, g, b] with values 0..255")
    try:
        ClassScheme.from_params(classes)
    except ValueError as e:
        raise ParamsError(f"{source}: data.classes: {e}") from None


def _check_models(models: Any, source: str) -> None:
    if not isinstance(models, list) or not models:
        _fail(source, "models", models, "expected a list of {architecture, backbone}")
    defaults = load_defaults()
    for i, spec in enumerate(models):
        key = f"models[{i}]"
        if not isinstance(spec, dict) or not {"architecture", "backbone"} <= set(spec) or (
                set(spec) - {"architecture", "backbone", "name", *MODEL_OVERRIDES}):
            _fail(source, key, spec, "expected {architecture: NAME, backbone: NAME} and "
                  f"optionally name, {', '.join(MODEL_OVERRIDES)}")
        if "name" in spec and not (isinstance(spec["name"], str)
                                   and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.=+-]*", spec["name"])):
            _fail(source, key + ".name", spec["name"],
                  "a folder name of letters, digits and _ . = + -")
        if spec["architecture"] not in ARCHITECTURES:
            _fail(source, key + ".architecture", spec["architecture"],
                  f"one of {' | '.join(ARCHITECTURES)}")
        if spec["backbone"] not in BACKBONES:
            _fail(source, key + ".backbone", spec["backbone"],
                  f"one of {', '.join(BACKBONES)}")
        for section in ("data", "model", "train"):
            if section in spec:
                overrides = spec[section]
                if not isinstance(overrides, dict):
                    _fail(source, f"{key}.{section}", overrides, "expected a mapping")
                allowed = MODEL_OVERRIDES[section]
                if allowed and set(overrides) - set(allowed):
                    _fail(source, f"{key}.{section}", overrides,
                          f"a model may set only {', '.join(allowed)} here")
                _check_tree(overrides, defaults[section], f"{source}: {key}", f"{section}.")
    _check_unique_names(models, source)


def _check_unique_names(models: list, source: str) -> None:
    names = [model_name(spec) for spec in models]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        _fail(source, "models", twice, "each entry needs its own name (runs are named after "
              "it): add `name: ...` to the entries of the same architecture and backbone")


def params_for_model(params: dict, spec: dict) -> dict:
    """The params one model trains with: the profile's, with the overrides of its entry in
    `models` (matched by name) merged in."""
    entry = next((m for m in params["models"] if model_name(m) == model_name(spec)), spec)
    overrides = {section: entry[section] for section in MODEL_OVERRIDES if section in entry}
    return merge(params, overrides)


def _check_loss(loss: Any, source: str) -> None:
    if not isinstance(loss, list) or not loss or not all(term in LOSSES for term in loss):
        _fail(source, "train.loss", loss, f"a non-empty list of {', '.join(LOSSES)}")


def _check_relations(params: dict, source: str) -> None:
    n_classes = len(params["data"]["classes"])
    weights = params["train"]["class_weights"]
    if weights is not None and (
        len(weights) != n_classes or not all(isinstance(w, (int, float)) for w in weights)
    ):
        _fail(source, "train.class_weights", weights, f"expected null or {n_classes} numbers")
    if params["data"]["source"] in ("folder", "shards") and not params["data"]["root"]:
        _fail(source, "data.root", None, f"data.source {params['data']['source']} needs a path")
    if params["data"]["face_crop"] and params["data"]["source"] == "shards":
        _fail(source, "data.face_crop", True, "shards hold whole photos already resized; crop "
              "faces from a folder (data.source: folder or synthetic), or set face_crop: false")


def resolve_path(value: str | Path, root: Path | None = None) -> Path:
    """A params path: absolute as given, relative to the project folder otherwise."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else project_root(root) / path


def output_dir(params: dict) -> Path:
    """`output_dir`, else `outputs/<profile>` (the FACELIB_OUTPUTS variable moves `outputs`)."""
    outputs = os.environ.get("FACELIB_OUTPUTS", "outputs")
    return resolve_path(params["output_dir"] or Path(outputs) / params["profile"])


def model_name(spec: dict) -> str:
    """An entry's `name`, by default `architecture_backbone`: it names the run folder."""
    return spec.get("name") or f"{spec['architecture']}_{spec['backbone']}"
