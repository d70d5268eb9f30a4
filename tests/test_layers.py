"""facelib's modules import one way: core -> data -> models -> engine -> reports -> app.

Imports inside functions count. `facelib/__init__.py`, `_env.py` and `_quiet.py` sit outside
the layers (the public API and the environment set-up).
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "facelib"
LAYERS = ["core", "data", "models", "engine", "reports", "app"]  # from the ground up


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The facelib modules `path` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("facelib"):
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("facelib")}
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {
    name: {target if target in MODULES else target.rsplit(".", 1)[0]
           for target in imports_of(path)} & set(MODULES) - {name}
    for name, path in MODULES.items()
}


def layer(name: str) -> int | None:
    parts = name.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_is_in_a_layer():
    outside = {name for name in MODULES if layer(name) is None}
    assert outside == {"facelib", "facelib._env", "facelib._quiet"}


def test_no_module_imports_a_layer_above_it():
    upward = sorted(
        f"{name} imports {target}"
        for name, targets in GRAPH.items() for target in targets
        if layer(name) is not None and layer(target) is not None and layer(target) > layer(name)
    )
    assert upward == []


def test_nothing_outside_the_application_layer_imports_it():
    assert sorted(name for name, targets in GRAPH.items()
                  if layer(name) != LAYERS.index("app")
                  and any(layer(t) == LAYERS.index("app") for t in targets)) == []


def test_there_is_no_import_cycle():
    cycles, done = [], set()

    def visit(name, path):
        if name in path:
            cycles.append(path[path.index(name):] + [name])
            return
        if name in done:
            return
        for target in sorted(GRAPH[name]):
            visit(target, path + [name])
        done.add(name)

    for name in sorted(GRAPH):
        visit(name, [])
    assert cycles == []
