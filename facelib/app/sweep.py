"""`facelib sweep`: the training notebook once per combination of params, then the comparison.

`--grid train.learning_rate=0.001,0.003 --grid train.loss=[dice,cce],[cce]` makes the product
of the values; each model of the profile trains once per combination, in a run named after
the model and the values (`pspnet_resnet50-learning_rate=0.001-loss=dice+cce`), under one
output folder (`outputs/<profile>-sweep/` unless `output_dir` is set). Every combination is
checked before the first one trains. A rerun skips finished combinations and resumes an
interrupted one; a combination that fails is reported by name and the others go on. The
comparison notebook then puts all the runs side by side, with a column for each varied key.
"""

from __future__ import annotations

import itertools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from facelib.app.runner import Invocation, Step, claim_output_dir, execute_step
from facelib.core.errors import UsageError
from facelib.core.params import ParamsError, model_name, output_dir


@dataclass
class Combination:
    values: dict            # dotted key -> value
    invocation: Invocation  # the params file with the sweep's overrides and these values
    run_names: list[str]


@dataclass
class SweepResult:
    out: Path
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def parse_grid(items: list[str]) -> dict[str, list]:
    """`["train.learning_rate=0.001,0.003"]` -> `{"train.learning_rate": [0.001, 0.003]}`.

    Values are read as YAML; commas inside brackets do not split (`[dice,cce],[cce]`)."""
    grid = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or not raw.strip():
            raise UsageError(f"--grid {item!r}: expected KEY=V1,V2,..., e.g. "
                             "train.learning_rate=0.001,0.003")
        if key in grid:
            raise UsageError(f"--grid {key}: given twice")
        grid[key] = [yaml.safe_load(part) for part in _split_top_level(raw)]
    if not grid:
        raise UsageError("facelib sweep needs at least one --grid KEY=V1,V2")
    return grid


def _split_top_level(raw: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in raw:
        depth += char in "[{"
        depth -= char in "]}"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [part.strip() for part in [*parts, current]]


def value_slug(key: str, value) -> str:
    """`train.loss`, `[dice, cce]` -> `loss=dice+cce`: a piece of a run's folder name."""
    text = "+".join(map(str, value)) if isinstance(value, list) else str(value)
    return re.sub(r"[^A-Za-z0-9_.=+-]", "_", f"{key.rsplit('.', 1)[-1]}={text}")


def plan(params_file: str | Path, grid: dict[str, list], overrides: list[str] | None) -> list:
    """Every combination, checked: a bad value stops here, before anything trains."""
    base = Invocation.of(params_file, overrides)
    profile = base.params()
    out = base.overrides.get("output_dir") or str(
        output_dir(profile).with_name(f"{profile['profile']}-sweep"))
    combinations = []
    for values in itertools.product(*grid.values()):
        chosen = dict(zip(grid, values, strict=True))
        slug = "-".join(value_slug(key, value) for key, value in chosen.items())
        trial = Invocation(base.params_file, {**base.overrides, **chosen, "output_dir": out})
        try:
            params = trial.params()
        except ParamsError as e:
            raise UsageError(f"--grid {slug}: {e}") from None
        models = [{**spec, "name": f"{model_name(spec)}-{slug}"} for spec in params["models"]]
        trial.overrides["models"] = models
        trial.params()  # the names are checked too
        combinations.append(Combination(chosen, trial, [m["name"] for m in models]))
    return combinations


def run_sweep(params_file: str | Path, grid_items: list[str],
              overrides: list[str] | None = None, force: bool = False) -> SweepResult:
    """Train every combination through the training notebook, then compare them all."""
    combinations = plan(params_file, parse_grid(grid_items), overrides)
    first = combinations[0].invocation
    out = claim_output_dir(first.params(), force)
    result = SweepResult(out)
    steps = [(combo, name) for combo in combinations for name in combo.run_names]
    for number, (combo, name) in enumerate(steps, 1):
        step = Step("02_train", f"02_train_{name}", {"run_name": name, "force": force})
        status = execute_step(step, combo.invocation, out, force)
        {"done": result.done, "skipped": result.skipped, "failed": result.failed}[
            status].append(name)
        print(f"[{number}/{len(steps)}] {name}: {status}", file=sys.stderr)
    if len(result.done) + len(result.skipped):
        compare = Step("03_compare", "03_compare", {"run_folders": [str(out)]})
        status = execute_step(compare, first, out, force=True)  # new runs: compare again
        print(f"03_compare: {status}", file=sys.stderr)
        if status == "failed":
            result.failed.append("03_compare")
    return result
