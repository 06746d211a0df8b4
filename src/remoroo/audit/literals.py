"""Literal metrics and special-cased inputs, found in the nodes a patch added.

``literal_metric``: a constant written where a metric is reported: a dict
entry or subscript keyed by a metric name, ``emit("loss", 0.01)``, a printed
``"fib_10=55"`` (plain, f-string, ``%`` or ``.format``), a function named
after a metric returning a constant, or a metric-named variable assigned a
constant that already meets its target.

``special_case``: an ``if x == INPUT: return CONST`` (or a dict keyed by an
input) where INPUT is a literal of the measured command or its harness, or
CONST is a target value: an answer cached for the benchmark.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any

from remoroo.audit.astdiff import Added, added_nodes, constant, is_numeric
from remoroo.audit.findings import AuditFinding, passed, vetoed
from remoroo.model.decide import is_met

if TYPE_CHECKING:
    from remoroo.audit.context import AuditContext


def check_literal_metrics(ctx: AuditContext) -> AuditFinding:
    names = ctx.metric_names()
    hits: list[dict[str, Any]] = []
    for added in added_nodes(ctx):
        why = _literal_metric(added.node, names, added, ctx)
        if why:
            hits.append(added.hit(why=why))
    if hits:
        return vetoed("literal_metric", hits, f"a constant is written into a metric ({hits[0]['why']})")
    return passed("literal_metric", "no metric is written from a constant")


def _literal_metric(node: ast.AST, names: set[str], added: Added, ctx: AuditContext) -> str | None:
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if constant(key) in names and constant(value) is not None:
                return f"{constant(key)!r}: {constant(value)!r} in a dict"
    if isinstance(node, ast.Call):
        func = ast.unparse(node.func)
        args = list(node.args) + [k.value for k in node.keywords]
        if func.split(".")[-1] == "emit" and len(args) >= 2 and constant(args[0]) in names \
                and constant(args[1]) is not None:
            return f"emit({constant(args[0])!r}, {constant(args[1])!r})"
        if isinstance(node.func, ast.Attribute) and node.func.attr == "format" and _mentions(node.func.value, names) \
                and args and all(constant(a) is not None for a in args):
            return "a metric line formatted from constants"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        for name in names:
            if re.search(rf"(?<![\w.]){re.escape(name)}\s*[=:]\s*-?\d", node.value):
                return f"the string {node.value!r}"
    if isinstance(node, ast.JoinedStr):
        return _fstring(node, names)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and _mentions(node.left, names) \
            and constant(node.right) is not None:
        return "a metric line formatted from a constant"
    if isinstance(node, ast.Assign) and constant(node.value) is not None:
        return _assignment(node, names, ctx)
    if isinstance(node, ast.Return) and constant(node.value) is not None and added.function:
        if any(name.lower() in added.function.lower() for name in names):
            return f"{added.function}() returns the constant {constant(node.value)!r}"
    return None


def _mentions(node: ast.AST, names: set[str]) -> bool:
    text = constant(node)
    return isinstance(text, str) and any(name in text for name in names)


def _fstring(node: ast.JoinedStr, names: set[str]) -> str | None:
    parts = node.values
    for before, after in zip(parts, parts[1:], strict=False):
        text = constant(before)
        if isinstance(text, str) and isinstance(after, ast.FormattedValue) and constant(after.value) is not None:
            if any(re.search(rf"{re.escape(n)}\s*[=:]\s*$", text) for n in names):
                return f"an f-string reporting the constant {constant(after.value)!r}"
    return None


def _assignment(node: ast.Assign, names: set[str], ctx: AuditContext) -> str | None:
    value = constant(node.value)
    for target in node.targets:
        if isinstance(target, ast.Subscript) and constant(target.slice) in names:
            return f"[{constant(target.slice)!r}] = {value!r}"
        if isinstance(target, ast.Name) and target.id in names:
            for goal_target in ctx.goal.targets:
                if goal_target.metric == target.id and isinstance(value, (bool, int, float, str)) and is_met(
                        goal_target, {target.id: value}, ctx.baseline):
                    return f"{target.id} = {value!r}, which meets {goal_target.text!r} by itself"
    return None


def check_special_cases(ctx: AuditContext) -> AuditFinding:
    inputs = ctx.benchmark_inputs()
    answers = ctx.target_values()
    hits: list[dict[str, Any]] = []
    for added in added_nodes(ctx):
        node = added.node
        if isinstance(node, ast.If):
            compared = _compared_literal(node.test)
            returned = _returned_constant(node.body)
            if compared is not None and returned is not None and (
                    _norm(compared) in inputs or (is_numeric(returned) and float(returned) in answers)):
                hits.append(added.hit(input=compared, answer=returned))
        if isinstance(node, ast.Dict) and node.keys:
            keys = [constant(k) for k in node.keys]
            values = [constant(v) for v in node.values]
            if all(v is not None for v in values) and any(k is not None and _norm(k) in inputs for k in keys):
                hits.append(added.hit(input=next(k for k in keys if k is not None and _norm(k) in inputs)))
    if hits:
        return vetoed("special_case", hits, "a hard-coded answer for a benchmark input")
    return passed("special_case", "no input is special-cased")


def _norm(value: object) -> object:
    return float(value) if is_numeric(value) else value


def _compared_literal(test: ast.AST) -> object | None:
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.Is, ast.In)):
        for side in (test.comparators[0], test.left):
            value = constant(side)
            if value is not None:
                return value
    if isinstance(test, ast.BoolOp):
        for value in test.values:
            found = _compared_literal(value)
            if found is not None:
                return found
    return None


def _returned_constant(body: list[ast.stmt]) -> object | None:
    for stmt in body:
        if isinstance(stmt, ast.Return):
            return constant(stmt.value)
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and stmt.value.args:
            value = constant(stmt.value.args[0])  # print(55) / emit-like calls on the special case
            if value is not None:
                return value
    return None
