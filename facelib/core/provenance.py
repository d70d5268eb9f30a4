"""Where a run came from: the `provenance.json` of a run folder.

The code (facelib's version, the git commit of its checkout and whether tracked files
differ from it), the package versions, Python, the machine (CPU, cores, the CPU features
TensorFlow's kernels depend on, GPUs), the data (`fingerprint` over the split's files) and
the params. No TensorFlow here: the engine passes the GPUs it sees.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from facelib import __version__
from facelib.core.errors import UsageError
from facelib.core.io import write_json

PROVENANCE_FILE = "provenance.json"
# The stack whose versions can change a result; the ones not installed are left out.
PACKAGES = (
    "tensorflow", "tensorflow-cpu", "tf-keras", "keras", "segmentation-models",
    "efficientnet", "image-classifiers", "numpy", "opencv-python-headless", "opencv-python",
    "scikit-learn", "pandas", "matplotlib", "seaborn", "pyyaml", "protobuf", "papermill",
    "jupytext", "nbconvert", "nbformat", "ipykernel", "nbval", "tensorboard",
)
# CPU features that decide which kernels oneDNN and XLA use (so the numbers a run gives).
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16",
             "amx_int8")
GIT_TIMEOUT = 10  # seconds for each git command
CHUNK = 1 << 20


def code_root() -> Path:
    """The folder holding the `facelib` package that runs (the checkout, when editable)."""
    return Path(__file__).resolve().parents[2]


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "--no-optional-locks", "-C", str(root), *args],
                              capture_output=True, text=True, timeout=GIT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(root: Path | None = None) -> dict:
    """`git_commit` and `git_dirty` (tracked files differ from the commit) of the checkout at
    `root`; both None when `root` is not a git checkout or git is missing or hangs."""
    root = Path(root or code_root())
    unknown = {"git_commit": None, "git_dirty": None}
    if not (root / ".git").exists():  # e.g. site-packages inside some other repository
        return unknown
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    if commit is None or status is None:
        return unknown
    return {"git_commit": commit.strip(), "git_dirty": bool(status.strip())}


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    """name -> installed version, for the packages of `names` that are installed."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict:
    """CPU model, core counts and the `CPU_FLAGS` it has (Linux; elsewhere what Python says)."""
    fields: dict[str, str] = {}
    try:
        text = cpuinfo.read_text()
    except OSError:
        text = ""
    for line in text.splitlines():  # the first processor's fields
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    model = fields.get("model name") or platform.processor() or None
    flags = set(fields["flags"].split()) if "flags" in fields else None
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "cpu_flags": None if flags is None else [f for f in CPU_FLAGS if f in flags],
    }


def machine_info(gpus: list[str] | None = None) -> dict:
    return {**cpu_info(), "gpus": list(gpus or []), "system": platform.platform()}


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(entries: Iterable[tuple[str, Path | bytes]]) -> str:
    """sha256 over (name, content) entries in order: a file's content is read from its
    path. Each name and content is length-prefixed, so no two lists of entries collide by
    moving bytes from one entry to the next."""
    digest = hashlib.sha256(b"facelib-fingerprint-1\0")
    for name, content in entries:
        encoded = name.encode()
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
        if isinstance(content, bytes):
            digest.update(len(content).to_bytes(8, "little") + content)
            continue
        try:
            with open(content, "rb") as f:
                digest.update(os.fstat(f.fileno()).st_size.to_bytes(8, "little"))
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
        except OSError as e:
            raise UsageError(f"{content}: cannot read it for the data fingerprint "
                             f"({e.strerror or e})") from None
    return digest.hexdigest()


def provenance(params_text: str, data_fingerprint: str, gpus: list[str] | None = None,
               root: Path | None = None) -> dict:
    """The provenance record of a run trained with `params_text` on data of
    `data_fingerprint`."""
    return {
        "facelib_version": __version__,
        **git_state(root),
        "packages": package_versions(),
        "python": platform.python_version(),
        "machine": machine_info(gpus),
        "data_fingerprint": data_fingerprint,
        "params_sha256": sha256_text(params_text),
    }


def write_provenance(folder: Path, record: dict) -> Path:
    return write_json(Path(folder) / PROVENANCE_FILE, record)


def read_provenance(folder: Path) -> dict | None:
    """The run folder's provenance record; None for a run made before facelib wrote one."""
    path = Path(folder) / PROVENANCE_FILE
    return json.loads(path.read_text()) if path.exists() else None
