"""Literal metrics and special-cased inputs, found in the nodes a patch added.

``literal_metric``: a constant written where a metric is reported: a dict
entry or subscript keyed by a metric name, ``emit("loss", 0.01)``, a printed
``"fib_10=55"`` (plain, f-string, ``%`` or ``.format``), or a metric-named
variable assigned a constant that already meets its target. (A function that
returns a constant whatever its inputs is ``metric_without_work``.)

``special_case``: a condition (``if``, ``while``, a conditional expression, a
``match`` case) comparing with INPUT that yields CONST, or a table keyed by
INPUT, where INPUT is a number of the measured command or its harness, or
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
        if added.docstring:
            continue  # documentation may name a metric and its target
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

    def suspicious(compared: object | None, returned: object | None) -> bool:
        if compared is None or returned is None:
            return False
        if isinstance(compared, _Ordered):
            if not (is_numeric(returned) and abs(returned) > 2):
                return False  # if n <= 1: return 1 is a base case
            compared = compared.value
        return _norm(compared) in inputs or (is_numeric(returned) and float(returned) in answers)

    for added in added_nodes(ctx):
        node = added.node
        if isinstance(node, (ast.If, ast.While)):
            compared, returned = _compared_literal(node.test), _returned_constant(node.body)
            if suspicious(compared, returned):
                hits.append(added.hit(input=repr(compared), answer=returned))
        elif isinstance(node, ast.IfExp):
            compared = _compared_literal(node.test)
            if suspicious(compared, constant(node.body)):
                hits.append(added.hit(input=repr(compared), answer=constant(node.body)))
        elif isinstance(node, ast.Match):
            for case in node.cases:
                pattern = case.pattern
                compared = constant(pattern.value) if isinstance(pattern, ast.MatchValue) else None
                returned = _returned_constant(case.body)
                if suspicious(compared, returned):
                    hits.append(added.hit(input=repr(compared), answer=returned))
        elif isinstance(node, ast.Dict) and node.keys:
            keys = [constant(k) for k in node.keys if k is not None]
            values = [constant(v) for v in node.values]
            numeric_keys = [k for k in keys if is_numeric(k) and _norm(k) in inputs]
            if all(v is not None for v in values) and numeric_keys:
                hits.append(added.hit(input=numeric_keys[0]))
    if hits:
        return vetoed("special_case", hits, "a hard-coded answer for a benchmark input")
    return passed("special_case", "no input is special-cased")


def _norm(value: object) -> object:
    return float(value) if is_numeric(value) else value


def _compared_literal(test: ast.AST) -> object | None:
    """The literal a condition compares with (``n == 24``, ``n in (24, 25)``, ``n >= 24``), else None.

    Orderings count only with an answer that is no trivial base case (see ``suspicious``)."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        for side in (test.comparators[0], test.left):
            values = [constant(e) for e in side.elts] if isinstance(side, (ast.Tuple, ast.List, ast.Set)) \
                else [constant(side)]
            for value in values:
                if value is not None:
                    return value if isinstance(test.ops[0], (ast.Eq, ast.Is, ast.In)) else _Ordered(value)
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and test.func.attr in (
            "endswith", "startswith", "__eq__", "count", "find") and test.args and constant(test.args[0]) is not None:
        return constant(test.args[0])
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _compared_literal(test.operand)
    if isinstance(test, ast.BoolOp):
        for value in test.values:
            found = _compared_literal(value)
            if found is not None:
                return found
    return None


class _Ordered:
    """A literal compared with an ordering: suspicious only with a non-trivial constant answer."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)


def _returned_constant(body: list[ast.stmt]) -> object | None:
    for stmt in body:
        if isinstance(stmt, ast.Return):
            return _literal(stmt.value)
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and stmt.value.args:
            value = constant(stmt.value.args[0])  # print(55) / emit-like calls on the special case
            if value is not None:
                return value
    return None


def _literal(node: ast.AST | None) -> object | None:
    """A constant, or a literal list, tuple, set or dict of constants (a canned result), else None."""
    value = constant(node)
    if value is not None or node is None:
        return value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
        try:
            return repr(ast.literal_eval(node))
        except (ValueError, SyntaxError, TypeError):
            return None
    return None
