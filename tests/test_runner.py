"""`facelib run` executes what the `py:percent` scripts say and passes on training lines."""

import io
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from facelib.app.runner import LiveLines

ROOT = Path(__file__).resolve().parents[1]
EDIT = 'print("this line was added to the .py only")'


@pytest.mark.slow
@pytest.mark.notebook
def test_run_executes_the_py_script_when_its_ipynb_is_stale(tmp_path):
    project = tmp_path / "project"
    for folder in ("params", "notebooks"):
        shutil.copytree(ROOT / folder, project / folder)
    script = project / "notebooks/01_data_analysis.py"
    script.write_text(script.read_text() + f"\n# %%\n{EDIT}\n")
    out = tmp_path / "out"
    code = ("import sys; from pathlib import Path; "
            "from facelib.app.runner import Invocation, Step, execute_step; "
            "step = Step('01_data_analysis', '01_data_analysis'); "
            f"invocation = Invocation.of('params/quick.yaml', {{'output_dir': {str(out)!r}}}); "
            f"print(execute_step(step, invocation, Path({str(out)!r})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "done"
    assert "01_data_analysis.ipynb differs from 01_data_analysis.py; running the .py" in (
        done.stderr)
    executed = nbformat.read(out / "01_data_analysis.ipynb", as_version=4)
    printed = [o.get("text", "") for c in executed.cells for o in c.get("outputs", [])]
    assert "this line was added to the .py only\n" in printed
    assert not (out / ".running").exists()
    assert "IPKernelApp" not in done.stderr and "Task was destroyed" not in done.stderr
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert ((out / "01_data_analysis.html").stat().st_mode & 0o777
            == plain.stat().st_mode & 0o777)


def test_live_lines_pass_on_epoch_lines_only_as_they_complete():
    terminal = io.StringIO()
    live = LiveLines(terminal)
    live.write("Epoch 1/2\nunet epoch 1/2: loss 0.9")
    assert terminal.getvalue() == ""
    live.write("000 - 3 s\n100%|#####| 4/4\n")
    assert terminal.getvalue() == "unet epoch 1/2: loss 0.9000 - 3 s\n"
