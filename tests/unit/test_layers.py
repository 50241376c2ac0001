"""The package's layers, read from the source: nothing imports upward, nothing imports in a
circle (Python and TypeScript).

Layers, bottom to top (each may import only from its own layer and the ones below):
``_version``/``core`` ← ``models`` ← ``analyses`` ← ``widget`` ← ``export``, ``store`` ←
``demo``, the CLI and the package's ``__init__``. The one way up is
``tokenheat.core._hook.upper`` (the display hook), which imports by name at call time.
"""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "tokenheat"
JS = ROOT / "js"

LAYERS = {
    "tokenheat._version": 0,
    "tokenheat.errors": 0,
    "tokenheat._lazy": 0,
    "tokenheat.core": 0,
    "tokenheat.models": 1,
    "tokenheat.analyses": 2,
    "tokenheat.engines": 2,
    "tokenheat.interop": 2,
    "tokenheat.widget": 3,
    "tokenheat.export": 4,
    "tokenheat.store": 4,
    "tokenheat.demo": 5,
    "tokenheat.__main__": 5,
    "tokenheat": 5,
}
#: Layers that sit side by side and must not import each other.
SIBLINGS = {("tokenheat.export", "tokenheat.store"), ("tokenheat.store", "tokenheat.export")}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer_of(module: str) -> tuple[str, int]:
    best = max((k for k in LAYERS if module == k or module.startswith(k + ".")), key=len)
    return best, LAYERS[best]


def _imports(path: pathlib.Path) -> list[tuple[str, int]]:
    """Every tokenheat module ``path`` imports, at any depth of the code, with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("tokenheat")]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("tokenheat")
        ):
            found.append((str(node.module), node.lineno))
    return found


def _modules() -> dict[str, pathlib.Path]:
    return {_module_name(p): p for p in SRC.rglob("*.py") if "static" not in p.parts}


def test_every_module_has_a_layer():
    unplaced = [m for m in _modules() if not any(m == k or m.startswith(k + ".") for k in LAYERS)]
    assert unplaced == []


def test_nothing_imports_upward():
    upward = []
    for module, path in _modules().items():
        own, level = _layer_of(module)
        for target, line in _imports(path):
            other, other_level = _layer_of(target)
            if other_level > level or (own, other) in SIBLINGS:
                upward.append(f"{path.relative_to(ROOT)}:{line} {module} -> {target}")
    assert upward == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_python_import_cycles():
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for target, _ in _imports(path):
            # ``from tokenheat.core import X`` imports the package; ``from pkg.mod import X``
            # the module. A package's own __init__ importing its children is not a cycle.
            if target in modules and not module.startswith(target + "."):
                targets.add(target)
        graph[module] = targets - {module}
    assert _cycles(graph) == []


_JS_IMPORT = re.compile(r"""^\s*(?:import|export)\b[^;]*?\bfrom\s+["']\./([\w.]+)["']""", re.M)


@pytest.mark.skipif(not JS.is_dir(), reason="no js/ folder")
def test_no_typescript_import_cycles():
    graph = {
        p.stem: {m.removesuffix(".ts") for m in _JS_IMPORT.findall(p.read_text(encoding="utf-8"))}
        for p in JS.glob("*.ts")
    }
    assert _cycles(graph) == []


def test_the_checker_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
