"""`facelib run`: execute the notebooks of a profile with papermill.

Order: data analysis, the training notebook once per model of the profile, the comparison,
then prediction. A notebook gets only its contract: `profile` (the params file), `overrides`
(what `--set` set, and the absolute output folder) and its own values (the model to train).
The `py:percent` script is the source: each notebook is built from `notebooks/NAME.py` with
jupytext, whatever its paired `.ipynb` holds. Each executed notebook is written under a
temporary name and moved into `outputs/<profile>/` only when it ran through, with an HTML
export beside it; a failing notebook is reported by name with the failing cell's error and
kept in `failed/`. A rerun skips notebooks whose executed copy is complete and whose
parameters and source are unchanged. Training prints one line per epoch, which reaches the
terminal while it runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
import papermill
from jupyter_client import AsyncKernelManager
from nbconvert import HTMLExporter

from facelib.app.kernel import registered_kernel
from facelib.core.errors import UsageError
from facelib.core.io import write_json, write_text
from facelib.core.params import dotted_overrides, load_params, model_name, output_dir, project_root

KERNEL = "facelib"  # the notebooks' kernelspec (facelib.app.kernel)
PROFILE_MARKER = "profile.json"
# What training notebooks print per epoch (facelib.engine.callbacks.EpochLog); only these
# lines of a notebook's output are shown on the terminal while `facelib run` runs.
LIVE_LINE = re.compile(r"^\S+ epoch \d+/\d+")


@dataclass
class Step:
    notebook: str            # stem of the notebook in notebooks/
    output: str              # stem of the executed copy
    own: dict = field(default_factory=dict)  # the notebook's own parameters


@dataclass
class Invocation:
    """A params file and its overrides: what every notebook of one run is given."""

    params_file: Path
    overrides: dict  # dotted keys, as `--set` gives them

    @classmethod
    def of(cls, params_file: str | Path, overrides: list[str] | dict | None = None):
        flat = overrides if isinstance(overrides, dict) else dotted_overrides(overrides)
        return cls(Path(params_file).resolve(), dict(flat))

    def params(self) -> dict:
        return load_params(self.params_file, self.overrides)

    def parameters(self, out: Path, own: dict) -> dict:
        """What papermill injects: the params file, the overrides with the absolute output
        folder, and the notebook's own values."""
        return {"profile": str(self.params_file),
                "overrides": {**self.overrides, "output_dir": str(out)}, **own}


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def pipeline_steps(params: dict, force: bool) -> list[Step]:
    trains = [Step("02_train", f"02_train_{model_name(spec)}",
                   {"run_name": model_name(spec), "force": force})
              for spec in params["models"]]
    return [Step("01_data_analysis", "01_data_analysis"), *trains,
            Step("03_compare", "03_compare"), Step("04_predict", "04_predict")]


def source_notebook(stem: str) -> tuple[nbformat.NotebookNode, str, str | None]:
    """The notebook built from `notebooks/STEM.py`, its digest, and a note when the paired
    `.ipynb` holds other code (it is not what runs)."""
    script = notebooks_dir() / f"{stem}.py"
    if not script.exists():
        raise UsageError(f"{script}: no such notebook script")
    notebook = jupytext.read(script)
    digest = hashlib.sha256(script.read_bytes()).hexdigest()[:16]
    paired = script.with_suffix(".ipynb")
    note = None
    if paired.exists() and _code(jupytext.read(paired)) != _code(notebook):
        note = (f"{paired} differs from {script.name}; running the .py (sync the pair with "
                f"`jupytext --sync {script}`)")
    return notebook, digest, note


def _code(notebook) -> list[str]:
    return [c.source.strip() for c in notebook.cells if c.cell_type == "code"]


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


def run_pipeline(params_file: str | Path, overrides: list[str] | None = None,
                 force: bool = False) -> int:
    """Execute every step; 0 when all ran, 1 when a notebook failed."""
    invocation = Invocation.of(params_file, overrides)
    params = invocation.params()
    out = claim_output_dir(params, force)
    steps = pipeline_steps(params, force)
    for number, step in enumerate(steps, 1):
        status = execute_step(step, invocation, out, force)
        if status == "failed":
            return 1
        print(f"[{number}/{len(steps)}] {step.output}: {status}", file=sys.stderr)
    write_json(out / PROFILE_MARKER, {"profile": params["profile"], "params": params,
                                      "finished": True})
    print(f"results in {out} (comparison: {out / 'comparison.csv'})")
    return 0


class LiveLines:
    """A stream papermill writes a kernel's stdout to: passes on the lines that match
    `LIVE_LINE` to `target` as they come."""

    def __init__(self, target):
        self.target, self.pending = target, ""

    def write(self, text: str) -> None:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            if LIVE_LINE.match(line):
                self.target.write(line + "\n")

    def flush(self) -> None:
        self.target.flush()


class _KernelWithLog(AsyncKernelManager):
    """A kernel whose own stderr goes to `log_path` instead of the terminal: what it writes
    there is its start-up and shutdown logging (ipykernel's plain-TCP warning, asyncio's
    pending tasks at exit); what the cells print reaches the notebook either way."""

    log_path: Path

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        with open(self.log_path, "ab") as log:
            await super()._async_launch_kernel(kernel_cmd, **{**kw, "stderr": log})


def kernel_logging_to(path: Path) -> type[AsyncKernelManager]:
    return type("KernelWithLog", (_KernelWithLog,), {"log_path": path})


def execute_step(step: Step, invocation: Invocation, out: Path, force: bool = False) -> str:
    """Run one notebook; returns `done`, `skipped` (already complete) or `failed`."""
    notebook, digest, note = source_notebook(step.notebook)
    if note:
        print(f"facelib: {note}", file=sys.stderr)
    target = out / f"{step.output}.ipynb"
    parameters = invocation.parameters(out, step.own)
    if not force and is_complete(target, parameters, digest):
        return "skipped"
    running = out / ".running" / target.name
    running.parent.mkdir(parents=True, exist_ok=True)
    source = running.with_suffix(".source.ipynb")
    kernel_log = running.with_suffix(".kernel.log")  # kept where the kernel itself failed
    nbformat.write(notebook, source)
    try:
        papermill.execute_notebook(
            str(source), str(running), parameters=parameters,
            kernel_name=registered_kernel(KERNEL),
            cwd=str(notebooks_dir()), progress_bar=sys.stderr.isatty(),
            stdout_file=LiveLines(sys.stderr), kernel_manager_class=kernel_logging_to(kernel_log),
        )
    except papermill.PapermillExecutionError as e:
        kept = out / "failed" / target.name
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(running, kept)
        kernel_log.unlink(missing_ok=True)
        print(f"facelib: notebook {step.output} failed in cell [{e.exec_count}]: "
              f"{e.ename}: {e.evalue}\n  the executed copy is kept in {kept}", file=sys.stderr)
        return "failed"
    finally:
        source.unlink(missing_ok=True)
    kernel_log.unlink(missing_ok=True)
    nb = nbformat.read(running, as_version=4)
    nb.metadata["facelib"] = {"source_digest": digest}
    nbformat.write(nb, running)
    export_html(running, target.with_suffix(".html"))
    running.replace(target)
    with contextlib.suppress(OSError):  # kept while another notebook of `out` still runs
        running.parent.rmdir()
    return "done"


def export_html(notebook: Path, html_path: Path) -> None:
    body, _ = HTMLExporter().from_filename(str(notebook))
    write_text(html_path, body)


def refresh_committed_notebooks() -> list[Path]:
    """Re-execute every notebook from its `.py` with its own (quick) defaults and write the
    result to the paired `.ipynb`, for nbval.

    Results go to a throw-away output folder, like nbval's runs in `make test`, so the
    committed outputs are those of a fresh quick run.
    """
    folder = notebooks_dir()
    written = []
    with tempfile.TemporaryDirectory(prefix="facelib-notebooks-") as scratch:
        os.environ["FACELIB_OUTPUTS"] = scratch
        for script in sorted(folder.glob("[0-9]*.py")):
            print(f"executing {script.name}", file=sys.stderr)
            target = script.with_suffix(".ipynb")
            source = Path(scratch) / target.name
            nbformat.write(jupytext.read(script), source)
            papermill.execute_notebook(str(source), str(target),
                                       kernel_name=registered_kernel(KERNEL),
                                       cwd=str(folder), progress_bar=sys.stderr.isatty())
            strip_papermill_metadata(target)
            written.append(target)
    return written


def strip_papermill_metadata(notebook: Path) -> None:
    """Drop papermill's run records (timings, paths) so the committed file stays tidy."""
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, notebook)
