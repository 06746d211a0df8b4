"""The layout is the architecture: packages import only downwards, never in a cycle, and the brain never judges.

Layers, lowest first (a package may import its own modules and any lower layer):
errors/emit → model → exec, protocol → index, patch, audit → measure → brain, evidence → loop → bench → cli.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "remoroo"
LAYERS = {"errors": 0, "emit": 0, "model": 1, "exec": 2, "protocol": 2, "index": 3, "patch": 3, "audit": 3,
          "measure": 4, "brain": 5, "evidence": 5, "loop": 6, "bench": 7, "cli": 8, "__init__": 9, "__main__": 9}
# the brain proposes, the engine judges: what a brain may never import
NOT_FOR_THE_BRAIN = {"audit", "loop", "measure", "exec", "evidence", "bench", "cli"}
MAX_DEPTH = 9


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def graph() -> dict[str, set[str]]:
    """Every ``remoroo`` module and the ``remoroo`` modules it imports (lazy imports in functions included)."""
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parent + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith("remoroo") and target != name:
                    found.add(target)
        edges[name] = found
    return edges


def _package(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "remoroo.loop.engine" in edges and "remoroo.loop.turn" in edges["remoroo.loop.engine"]
    assert "remoroo.model.decide" in edges["remoroo.loop.turn"]


def test_every_package_has_a_layer() -> None:
    assert {_package(m) for m in graph()} <= set(LAYERS)


def test_imports_only_go_down() -> None:
    upward = []
    for module, targets in graph().items():
        mine = _package(module)
        for target in targets:
            theirs = _package(target)
            if theirs != mine and LAYERS[theirs] >= LAYERS[mine]:
                upward.append(f"{module} -> {target}")
    assert upward == []


@pytest.mark.parametrize("forbidden", sorted(NOT_FOR_THE_BRAIN))
def test_the_brain_never_imports_the_engines_judging_code(forbidden: str) -> None:
    assert [f"{m} -> {t}" for m, ts in graph().items() if _package(m) == "brain"
            for t in ts if _package(t) == forbidden] == []


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    return cycles


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    assert find_cycles(graph()) == []


def test_the_package_graph_is_shallow() -> None:
    """The longest chain of package imports, counted in packages, stays within MAX_DEPTH."""
    edges = graph()
    packages: dict[str, set[str]] = {}
    for module, targets in edges.items():
        mine = _package(module)
        packages.setdefault(mine, set()).update(_package(t) for t in targets if _package(t) != mine)

    @cache
    def depth(package: str) -> int:
        return 1 + max((depth(p) for p in packages.get(package, ())), default=0)

    assert max(depth(p) for p in packages) <= MAX_DEPTH
