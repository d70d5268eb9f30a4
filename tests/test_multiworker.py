"""Two `facelib train` workers on loopback ports (TF_CONFIG, MultiWorkerMirroredStrategy)
train the quick profile into one run folder, which only the chief writes; stopped (SIGTERM)
or killed (SIGKILL) after a finished epoch and started again, they resume after it. Every
wait has a deadline: a hung collective fails the test. Also: which worker is the chief, and
TF_CONFIG mistakes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import pandas as pd
import pytest

from facelib.app.cli import main
from facelib.core.params import load_params
from facelib.engine.workers import ClusterConfigError, is_chief, worker_count

ROOT = Path(__file__).resolve().parents[1]
MODEL = "pspnet_resnet50"
EPOCHS = 3
DEADLINE = 900  # seconds for one start of the workers, on a loaded 2-core machine
RUN_FILES = {"model.keras", "model.best.json", "history.csv", "params.yaml", "split.csv",
             "metrics.json", "confusion.csv", "test_predictions", "provenance.json"}


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Workers:
    """`facelib train` once per worker of a loopback cluster, each in its own session."""

    def __init__(self, out: Path, logs: Path, temps: list[Path]):
        ports = free_ports(len(temps))
        cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
        self.logs = [logs / f"worker{i}.log" for i in range(len(temps))]
        self.procs = []
        for index, (log, temp) in enumerate(zip(self.logs, temps, strict=True)):
            temp.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, "TMPDIR": str(temp), "TF_CPP_MIN_LOG_LEVEL": "2",
                   "TF_CONFIG": json.dumps({"cluster": cluster,
                                            "task": {"type": "worker", "index": index}})}
            command = [sys.executable, "-m", "facelib.app.cli", "train", "params/quick.yaml",
                       "--model", MODEL, "--set", "train.strategy=multiworker",
                       "--set", f"output_dir={out}", "--set", f"train.epochs={EPOCHS}"]
            with open(log, "w") as stream:
                self.procs.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=stream,
                                                   stderr=subprocess.STDOUT,
                                                   start_new_session=True))
        self.deadline = time.monotonic() + DEADLINE

    def text(self, index: int) -> str:
        return self.logs[index].read_text(errors="replace")

    def fail(self, why: str):
        self.kill(signal.SIGKILL)
        tails = "\n".join(f"--- worker {i}:\n{self.text(i)[-3000:]}" for i in range(len(self.logs)))
        pytest.fail(f"{why}\n{tails}")

    def wait_until(self, condition, what: str) -> None:
        while not condition():
            if any(p.poll() is not None for p in self.procs):
                self.fail(f"a worker ended before {what}")
            if time.monotonic() > self.deadline:
                self.fail(f"timed out waiting for {what}")
            time.sleep(0.2)

    def kill(self, *signals) -> None:
        """Send signals[i] (or the last one) to worker i's process group."""
        for index, proc in enumerate(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signals[min(index, len(signals) - 1)])

    def wait(self, seconds: float | None = None) -> list[int]:
        end = time.monotonic() + seconds if seconds else self.deadline
        for proc in self.procs:
            try:
                proc.wait(timeout=max(1.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.fail("timed out waiting for the workers to end")
        return [p.returncode for p in self.procs]


def epochs_in(history: Path) -> list[int]:
    return pd.read_csv(history)["epoch"].tolist() if history.exists() else []


def epoch_line(epoch: int) -> str:
    """The start of the line the chief prints after `epoch` (from 1)."""
    return f"{MODEL} epoch {epoch}/{EPOCHS}:"


def backed_up(run: Path) -> str:
    """The chief's BackupAndRestore checkpoint index: new after each finished epoch."""
    index = run / "backup/chief/checkpoint"
    return index.read_text() if index.exists() else ""


@pytest.mark.slow
def test_two_workers_share_one_run_folder_and_resume_after_kills(tmp_path):
    out = tmp_path / "out"
    run = out / "runs" / MODEL
    temps = [tmp_path / "tmp0", tmp_path / "tmp1"]
    times = [time.monotonic()]

    # Stopped by SIGTERM after the first epoch, resumed, then killed after the second.
    for signum, epochs in ((signal.SIGTERM, 1), (signal.SIGKILL, 2)):
        before = backed_up(run)
        workers = Workers(out, tmp_path, temps)
        workers.wait_until(lambda before=before, epochs=epochs: backed_up(run) != before
                           and len(epochs_in(run / "history.csv")) == epochs, f"epoch {epochs}")
        workers.kill(signum)
        codes = workers.wait(120)
        assert codes == ([130, 130] if signum == signal.SIGTERM else [-signum] * 2), \
            [workers.text(0)[-3000:], workers.text(1)[-3000:]]
        assert epochs_in(run / "history.csv") == list(range(epochs))
        assert epoch_line(epochs) in workers.text(0)
        assert epoch_line(epochs - 1) not in workers.text(0)  # resumed
        times.append(time.monotonic())

    last = Workers(out, tmp_path, temps)
    codes = last.wait()
    assert codes == [0, 0], [last.text(0)[-3000:], last.text(1)[-3000:]]
    chief, other = last.text(0), last.text(1)
    assert epoch_line(EPOCHS - 1) not in chief and epoch_line(EPOCHS) in chief
    assert epochs_in(run / "history.csv") == list(range(EPOCHS))  # each epoch once
    assert "Traceback" not in chief + other and "have crashed" not in chief + other

    # Only the chief wrote the run folder; the other worker's temporary saves are gone.
    assert {p.name for p in run.iterdir()} == RUN_FILES
    assert not list(temps[1].glob("facelib-worker-*")), list(temps[1].iterdir())
    split = pd.read_csv(run / "split.csv")
    test_stems = sorted(split.loc[split["split"] == "test", "stem"])
    assert sorted(p.stem for p in (run / "test_predictions").iterdir()) == test_stems
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_images"] == len(test_stems) and 0 < metrics["mean"]["iou"] <= 1
    times.append(time.monotonic())
    print("starts took", ", ".join(f"{b - a:.0f} s" for a, b in pairwise(times)))


def cluster_config(cluster: dict, kind: str, index: int) -> str:
    return json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}})


def test_the_chief_is_task_chief_else_worker_0(monkeypatch):
    multi = load_params(ROOT / "params/quick.yaml", ["train.strategy=multiworker"])
    single = load_params(ROOT / "params/quick.yaml")
    workers = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    with_chief = {"chief": ["127.0.0.1:3"], **workers}
    cases = [(workers, "worker", 0, True), (workers, "worker", 1, False),
             (with_chief, "chief", 0, True), (with_chief, "worker", 0, False)]
    for cluster, kind, index, chief in cases:
        monkeypatch.setenv("TF_CONFIG", cluster_config(cluster, kind, index))
        assert is_chief(multi) is chief and is_chief(single)
        assert worker_count(multi) == sum(map(len, cluster.values()))
        assert worker_count(single) == 1
    monkeypatch.delenv("TF_CONFIG")
    assert is_chief(multi) and worker_count(multi) == 1


@pytest.mark.parametrize("config, message", [
    ("{not json", "TF_CONFIG is not JSON"),
    ('{"task": {"type": "worker", "index": 0}}', 'TF_CONFIG needs "cluster" and "task"'),
    (cluster_config({"worker": ["127.0.0.1:1"]}, "worker", 1), "TF_CONFIG task 'worker' 1 is"),
])
def test_a_wrong_tf_config_stops_training_with_one_line(config, message, monkeypatch, capsys,
                                                        tmp_path):
    monkeypatch.setenv("TF_CONFIG", config)
    with pytest.raises(ClusterConfigError):
        is_chief(load_params(ROOT / "params/quick.yaml", ["train.strategy=multiworker"]))
    code = main(["train", str(ROOT / "params/quick.yaml"), "--model", MODEL,
                 "--set", "train.strategy=multiworker", "--set", f"output_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not any(tmp_path.iterdir())


def test_each_worker_needs_a_shard_file_of_its_own():
    from types import SimpleNamespace

    from facelib.core.params import ParamsError
    from facelib.engine.training import _check_shares

    pairs = [SimpleNamespace(location=Path(f"train-{i // 3}.tfrecord")) for i in range(6)]
    _check_shares(pairs, 2)
    with pytest.raises(ParamsError, match="3 workers, but the training split is in 2 file"):
        _check_shares(pairs, 3)


def test_a_worker_whose_chief_is_gone_trusts_only_a_results_file_of_this_training(
        tmp_path, monkeypatch):
    import tensorflow as tf

    from facelib.engine import workers

    class GoneChief:
        def get_config_key_value(self, key):
            raise tf.errors.UnavailableError(None, None, "Connection refused")

    monkeypatch.setattr(workers.context, "context", GoneChief)
    metrics = tmp_path / "metrics.json"
    metrics.write_text("{}")
    written_at = metrics.stat().st_mtime
    workers.wait_for_results(MODEL, metrics, since=written_at)  # the chief wrote it: done
    with pytest.raises(workers.ChiefStoppedError, match="the chief stopped before it wrote"):
        workers.wait_for_results(MODEL, metrics, since=written_at + 60)  # an earlier run's
    metrics.unlink()
    with pytest.raises(workers.ChiefStoppedError, match="Connection refused"):
        workers.wait_for_results(MODEL, metrics, since=written_at)

