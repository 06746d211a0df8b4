"""AST diffs: the nodes a patch added to a Python file, with their enclosing function."""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard

if TYPE_CHECKING:
    from remoroo.audit.context import AuditContext


@dataclass(frozen=True)
class Added:
    file: str
    node: ast.AST
    function: str
    source: str
    docstring: bool = False

    @property
    def line(self) -> int:
        return getattr(self.node, "lineno", 0)

    @property
    def code(self) -> str:
        segment = ast.get_source_segment(self.source, self.node) or ast.unparse(self.node)
        return segment.strip().splitlines()[0][:160] if segment.strip() else ""

    def hit(self, **extra: object) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "code": self.code, "function": self.function, **extra}


def added_nodes(ctx: AuditContext) -> list[Added]:
    """Every node of a changed .py file that the old version did not have (compared by structure); computed once
    per candidate."""
    cached = ctx.memo.get("added")
    if isinstance(cached, list):
        return cached
    found = _added(ctx)
    ctx.memo["added"] = found
    return found


def _added(ctx: AuditContext) -> list[Added]:
    found: list[Added] = []
    for path in ctx.files:
        after = ctx.after.get(path)
        if after is None or not path.endswith(".py"):
            continue
        try:
            new = ast.parse(after)
        except SyntaxError as exc:  # what cannot be read cannot pass: the checker reports an audit error
            raise ValueError(f"{path} does not parse as Python ({exc.msg}, line {exc.lineno})") from exc
        old_counts: Counter[str] = Counter()
        before = ctx.before.get(path)
        if before:
            try:
                old_counts.update(ast.dump(n) for n in ast.walk(ast.parse(before)))
            except SyntaxError:
                pass
        owners = _owners(new)
        docs = _docstrings(new)
        for node in ast.walk(new):
            dumped = ast.dump(node)
            if old_counts[dumped] > 0:
                old_counts[dumped] -= 1
                continue
            found.append(Added(path, node, owners.get(id(node), ""), after, id(node) in docs))
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstrings (and their statements) of the module, classes and functions."""
    found: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            found |= {id(body[0]), id(body[0].value)}
    return found


def _owners(tree: ast.AST) -> dict[int, str]:
    """id(node) -> name of the innermost function that contains it."""
    owners: dict[int, str] = {}

    def visit(node: ast.AST, owner: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else owner
            owners[id(child)] = owner
            visit(child, inner)

    visit(tree, "")
    return owners


def constant(node: ast.AST | None) -> object | None:
    """The value of a literal number, bool or string (negative numbers included), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = constant(node.operand)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner if isinstance(node.op, ast.USub) else inner
    return None


def is_numeric(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
