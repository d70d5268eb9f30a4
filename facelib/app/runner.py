"""`facelib run`: execute the notebooks of a profile with papermill.

Order: data analysis, the training notebook once per model of the profile, the comparison,
then prediction. Each executed notebook is written under a temporary name and moved into
`outputs/<profile>/` only when it ran through, with an HTML export beside it; a failing
notebook is reported by name with the failing cell's error and kept in `failed/`. A rerun
skips notebooks whose executed copy is complete and whose parameters and source are
unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter

from facelib.app.kernel import registered_kernel
from facelib.core.errors import UsageError
from facelib.core.io import write_json, write_text
from facelib.core.params import model_name, output_dir, project_root

KERNEL = "facelib"  # the notebooks' kernelspec (facelib.app.kernel)
PROFILE_MARKER = "profile.json"


@dataclass
class Step:
    notebook: str            # stem of the notebook in notebooks/
    output: str              # stem of the executed copy
    extra: dict = field(default_factory=dict)


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def pipeline_steps(params: dict) -> list[Step]:
    trains = [
        Step("02_train", f"02_train_{model_name(spec)}",
             {"architecture": spec["architecture"], "backbone": spec["backbone"]})
        for spec in params["models"]
    ]
    return [Step("01_data_analysis", "01_data_analysis"), *trains,
            Step("03_compare", "03_compare"), Step("04_predict", "04_predict")]


def notebook_parameters(params: dict, extra: dict, force: bool) -> dict:
    """What papermill injects: every params section, the absolute output folder, extras."""
    injected = {key: value for key, value in params.items()}
    injected["output_dir"] = str(output_dir(params))
    injected.update(extra)
    if extra.get("architecture"):
        injected["force"] = force
    return injected


def source_digest(notebook: Path) -> str:
    return hashlib.sha256(notebook.read_bytes()).hexdigest()[:16]


def is_complete(executed: Path, parameters: dict, digest: str) -> bool:
    """An executed copy that ran through with the same parameters and notebook source."""

    if not executed.exists():
        return False
    try:
        nb = nbformat.read(executed, as_version=4)
    except Exception:  # an unreadable copy is simply redone
        return False
    meta = nb.metadata.get("papermill", {})
    return (
        not meta.get("exception")
        and meta.get("parameters") == json.loads(json.dumps(parameters))
        and nb.metadata.get("facelib", {}).get("source_digest") == digest
    )


def claim_output_dir(params: dict, force: bool) -> Path:
    """Make sure `output_dir` belongs to this profile; finished results need `force`."""

    out = output_dir(params)
    marker = out / PROFILE_MARKER
    if marker.exists():
        owner = json.loads(marker.read_text())
        if owner["profile"] != params["profile"] and not force:
            raise UsageError(
                f"{out} holds the outputs of profile {owner['profile']!r}; choose another "
                "output_dir, or pass --force to replace them"
            )
        if owner["params"] != params and owner.get("finished") and not force:
            raise UsageError(
                f"{out} holds finished results of {params['profile']!r} made with other "
                "params; pass --force to replace them, or set output_dir to keep both"
            )
    out.mkdir(parents=True, exist_ok=True)
    write_json(marker, {"profile": params["profile"], "params": params, "finished": False})
    return out


def run_pipeline(params: dict, force: bool = False) -> int:
    """Execute every step; 0 when all ran, 1 when a notebook failed."""
    out = claim_output_dir(params, force)
    steps = pipeline_steps(params)
    for number, step in enumerate(steps, 1):
        label = f"[{number}/{len(steps)}] {step.output}"
        status = execute_step(step, params, out, force)
        if status == "failed":
            return 1
        print(f"{label}: {status}", file=sys.stderr)
    write_json(out / PROFILE_MARKER, {"profile": params["profile"], "params": params,
                                      "finished": True})
    print(f"results in {out} (comparison: {out / 'comparison.csv'})")
    return 0


def execute_step(step: Step, params: dict, out: Path, force: bool) -> str:
    """Run one notebook; returns `done`, `skipped` (already complete) or `failed`."""

    source = notebooks_dir() / f"{step.notebook}.ipynb"
    target = out / f"{step.output}.ipynb"
    parameters = notebook_parameters(params, step.extra, force)
    digest = source_digest(source)
    if not force and is_complete(target, parameters, digest):
        return "skipped"
    running = out / ".running" / target.name
    running.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            str(source), str(running), parameters=parameters, kernel_name=registered_kernel(KERNEL),
            cwd=str(source.parent), progress_bar=sys.stderr.isatty(),
        )
    except papermill.PapermillExecutionError as e:
        kept = out / "failed" / target.name
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(running, kept)
        print(f"facelib run: notebook {step.output} failed in cell [{e.exec_count}]: "
              f"{e.ename}: {e.evalue}\n  the executed copy is kept in {kept}", file=sys.stderr)
        return "failed"
    nb = nbformat.read(running, as_version=4)
    nb.metadata["facelib"] = {"source_digest": digest}
    nbformat.write(nb, running)
    export_html(running, target.with_suffix(".html"))
    running.replace(target)
    return "done"


def export_html(notebook: Path, html_path: Path) -> None:

    body, _ = HTMLExporter().from_filename(str(notebook))
    write_text(html_path, body)


def refresh_committed_notebooks() -> int:
    """Re-execute notebooks/*.ipynb in place with their own (quick) defaults, for nbval.

    Results go to a throw-away output folder, like nbval's runs in `make test`, so the
    committed outputs are those of a fresh quick run.
    """

    folder = notebooks_dir()
    with tempfile.TemporaryDirectory(prefix="facelib-notebooks-") as scratch:
        os.environ["FACELIB_OUTPUTS"] = scratch
        for notebook in sorted(folder.glob("[0-9]*.ipynb")):
            print(f"executing {notebook.name}", file=sys.stderr)
            papermill.execute_notebook(str(notebook), str(notebook),
                                       kernel_name=registered_kernel(KERNEL),
                                       cwd=str(folder), progress_bar=sys.stderr.isatty())
            strip_papermill_metadata(notebook)
    return 0


def strip_papermill_metadata(notebook: Path) -> None:
    """Drop papermill's run records (timings, paths) so the committed file stays tidy."""

    nb = nbformat.read(notebook, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, notebook)
