"""Mutation sites of a Python module, found and rewritten with libcst.

Repairs: relational operator replacement, ``+``/``-`` swaps, operator swaps in
a returned expression (``return a * b`` -> ``a + b``...), off-by-one on
``range`` bounds, subscript indices, returned values, comparison bounds and
integer arithmetic (``± 1``, and dropping a ``± k`` term: ``return b + 1`` ->
``return b``), boolean negation, and deletion of sleeps and of dead
statements after ``return``/``raise``. Tunable constants:
numbers bound to a name, a parameter default, a keyword argument or an
augmented assignment. Rewrites go through libcst, so formatting and comments
survive.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, TypeVar

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

_CMP_SWAPS: dict[type[cst.CSTNode], tuple[type[cst.CSTNode], ...]] = {
    cst.LessThan: (cst.LessThanEqual, cst.GreaterThan),
    cst.LessThanEqual: (cst.LessThan,),
    cst.GreaterThan: (cst.GreaterThanEqual, cst.LessThan),
    cst.GreaterThanEqual: (cst.GreaterThan,),
    cst.NotEqual: (cst.LessThan, cst.GreaterThan, cst.Equal),
    cst.Equal: (cst.NotEqual,),
}
_BIN_SWAPS: dict[type[cst.CSTNode], type[cst.CSTNode]] = {cst.Add: cst.Subtract, cst.Subtract: cst.Add}
# in a returned expression, the other arithmetic operators too (a formula with the wrong operation)
_RETURN_OPS: tuple[type[cst.BaseBinaryOp], ...] = (cst.Add, cst.Subtract, cst.Multiply, cst.FloorDivide, cst.Divide,
                                                    cst.Modulo, cst.Power)


@dataclass(frozen=True)
class Site:
    """One place to change: a concrete repair, or a tunable constant (``value`` set)."""

    path: str
    kind: str
    line: int
    function: str
    description: str
    node: Any  # a libcst node (Python) or a tree-sitter node (span sites)
    replacement: cst.CSTNode | None = None
    key: str = ""
    value: float | None = None
    speculative: bool = False  # a change with no sign in the code that it is wrong (a bound moved by one): tried later
    span: tuple[int, int] | None = None  # a text-span site (tree-sitter languages): the bytes it replaces
    new_text: str | None = None

    @property
    def id(self) -> str:
        raw = f"{self.path}|{self.kind}|{self.line}|{self.description}"
        return hashlib.sha1(raw.encode()).hexdigest()[:10]


class Module:
    """A parsed module whose sites can each be rewritten into new source."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.wrapper = MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)  # the tree is ours alone
        collector = _Collector(path)
        self.wrapper.visit(collector)
        self.sites = collector.sites

    @property
    def code(self) -> str:
        return self.wrapper.module.code

    def literal(self, site: Site) -> str:
        """The source text of a constant site's number."""
        return self.wrapper.module.code_for_node(site.node)

    def rewrite(self, site: Site, value: float | None = None) -> str:
        replacement = site.replacement if value is None else _number(value, site.node)
        assert replacement is not None
        new = self.wrapper.module.deep_replace(site.node, replacement)
        assert isinstance(new, cst.Module)
        return new.code


def parse(path: str, source: str) -> Module | None:
    try:
        return Module(path, source)
    except cst.ParserSyntaxError:
        return None


def _number(value: float, like: cst.CSTNode) -> cst.BaseExpression:
    if isinstance(like, cst.Integer) or (float(value).is_integer() and abs(value) < 1e15 and
                                         not isinstance(like, cst.Float)):
        text = str(int(value))
    else:
        text = repr(float(f"{value:.6g}"))
    if text.startswith("-"):
        return cst.UnaryOperation(operator=cst.Minus(), expression=_literal(text[1:]))
    return _literal(text)


def _literal(text: str) -> cst.BaseNumber:
    return cst.Integer(text) if text.isdigit() else cst.Float(text)


def number_of(node: cst.CSTNode) -> float | None:
    if isinstance(node, (cst.Integer, cst.Float)):
        return float(node.evaluated_value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = number_of(node.expression)
        return -inner if inner is not None else None
    return None


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, path: str) -> None:
        self.path = path
        self.scope: list[str] = []
        self.sites: list[Site] = []
        self.described: set[tuple[int, str]] = set()

    # scope -----------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scope.append(node.name.value)
        for param in (*node.params.params, *node.params.kwonly_params):
            if param.default is not None and number_of(param.default) is not None:
                self._const(param.default, param.name.value, f"default of {param.name.value}")

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scope.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scope.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scope.pop()

    # helpers ---------------------------------------------------------------
    def _add(self, kind: str, node: cst.CSTNode, replacement: cst.CSTNode, description: str,
             speculative: bool = False) -> None:
        line = self.get_metadata(PositionProvider, node).start.line
        if (line, description) in self.described:
            return  # two readings of one change (a range bound that is also an integer term): one site
        self.described.add((line, description))
        self.sites.append(Site(self.path, kind, line, ".".join(self.scope), description, node, replacement,
                               speculative=speculative))

    def _const(self, node: cst.CSTNode, name: str, description: str) -> None:
        value = number_of(node)
        if value is None or isinstance(node, cst.Name):
            return
        line = self.get_metadata(PositionProvider, node).start.line
        scope = ".".join(self.scope)
        self.sites.append(Site(self.path, "constant", line, scope, description, node,
                               key=f"{self.path}:{scope}:{name}", value=value))

    # repairs ---------------------------------------------------------------
    def visit_Comparison(self, node: cst.Comparison) -> None:
        for i, target in enumerate(node.comparisons):
            if isinstance(target.operator, (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual)) \
                    and not (isinstance(target.comparator, cst.BinaryOperation) and
                             isinstance(target.comparator.right, cst.Integer)):
                for bound in _plus_minus_one(target.comparator):  # 'i < n' -> 'i < n - 1', 'i < n + 1'
                    targets = list(node.comparisons)
                    targets[i] = target.with_changes(comparator=bound)
                    new = node.with_changes(comparisons=targets)
                    self._add("off_by_one", node, new, f"{_code(node)!r} -> {_code(new)!r}", speculative=True)
            for new_op in _CMP_SWAPS.get(type(target.operator), ()):
                op: cst.CSTNode = _same_spacing(target.operator, new_op)
                targets = list(node.comparisons)
                targets[i] = target.with_changes(operator=op)
                self._add("relational", node, node.with_changes(comparisons=targets),
                          f"{_code(node)!r}: {_op(target.operator)} -> {_op(op)}")

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        swap = _BIN_SWAPS.get(type(node.operator))
        if swap is not None:
            op: cst.CSTNode = _same_spacing(node.operator, swap)
            self._add("arithmetic", node, node.with_changes(operator=op),
                      f"{_code(node)!r}: {_op(node.operator)} -> {_op(op)}")
        if isinstance(node.operator, (cst.Add, cst.Subtract)) and isinstance(node.right, cst.Integer):
            for new_value in _off_by_one(node):  # 'b + 1' -> 'b', 'b + 2'; 'n - 1' -> 'n', 'n - 2'
                self._add("off_by_one", node, new_value, f"{_code(node)!r} -> {_code(new_value)!r}")

    def visit_Return(self, node: cst.Return) -> None:
        value = node.value
        if value is None or not _numeric_looking(value):
            return
        if isinstance(value, cst.BinaryOperation) and not isinstance(value.right, cst.Integer):
            for op_type in _RETURN_OPS:
                if isinstance(value.operator, op_type) or (op_type in (cst.Add, cst.Subtract) and
                                                           type(value.operator) in _BIN_SWAPS):
                    continue  # the same operator, or the +/- swap every expression already has
                new = value.with_changes(operator=_same_spacing(value.operator, op_type))
                self._add("arithmetic", value, new, f"return {_code(value)!r} -> {_code(new)!r}", speculative=True)
        if not (isinstance(value, cst.BinaryOperation) and isinstance(value.right, cst.Integer)):
            for new_value in _plus_minus_one(value):
                self._add("off_by_one", value, new_value, f"return {_code(value)!r} -> {_code(new_value)!r}",
                          speculative=True)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "range":
            for i, arg in enumerate(node.args):
                for new_value in _off_by_one(arg.value):
                    args = list(node.args)
                    args[i] = arg.with_changes(value=new_value)
                    self._add("off_by_one", node, node.with_changes(args=args),
                              f"{_code(node)!r} -> {_code(node.with_changes(args=args))!r}")
        callee = _code(node.func)
        first = node.args[0].value if node.args and node.args[0].keyword is None else None
        if isinstance(first, cst.SimpleString) and isinstance(first.evaluated_value, str):
            callee = f"{callee}({first.evaluated_value})"  # add_argument("--epochs", default=2): the option names it
        for arg in node.args:
            if arg.keyword is not None and number_of(arg.value) is not None:
                self._const(arg.value, f"{callee}.{arg.keyword.value}", f"{callee}({arg.keyword.value}=...)")

    def visit_SubscriptElement(self, node: cst.SubscriptElement) -> None:
        if isinstance(node.slice, cst.Index):
            for new_value in _off_by_one(node.slice.value):
                new = node.with_changes(slice=node.slice.with_changes(value=new_value))
                self._add("off_by_one", node, new, f"index {_code(node)!r} -> {_code(new)!r}")

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in ("True", "False"):
            other = "False" if node.value == "True" else "True"
            self._add("negation", node, node.with_changes(value=other), f"{node.value} -> {other}")

    def visit_UnaryOperation(self, node: cst.UnaryOperation) -> None:
        if isinstance(node.operator, cst.Not):
            self._add("negation", node, node.expression, f"drop 'not' in {_code(node)!r}")

    def visit_If(self, node: cst.If) -> None:
        test = node.test
        if "__name__" in _code(test):  # the main guard is not a bug to negate
            return
        if not isinstance(test, cst.UnaryOperation):
            wrapped = test if isinstance(test, (cst.Name, cst.Call, cst.Attribute)) else test.with_changes(
                lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            negated = cst.UnaryOperation(operator=cst.Not(), expression=wrapped)
            self._add("negation", node, node.with_changes(test=negated), f"negate 'if {_code(test)}'")

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        body = list(node.body)
        for i, stmt in enumerate(body):
            if _is_sleep(stmt):
                self._add("deletion", stmt, _pass(), f"delete {_code(stmt).strip()!r} (slow)")
            if i + 1 < len(body) and _ends_flow(stmt):
                for dead in body[i + 1:]:
                    self._add("deletion", dead, _pass(), f"delete dead {_code(dead).strip()[:60]!r}")
                break

    # constants ---------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            name = node.targets[0].target.value
            self._const(node.value, name, f"{name} = ...")

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.target, cst.Name) and node.value is not None:
            self._const(node.value, node.target.value, f"{node.target.value} = ...")

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name):
            op = _op(node.operator)
            self._const(node.value, f"{node.target.value}{op}", f"{node.target.value} {op} ...")


def _off_by_one(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    one = cst.Integer("1")
    if isinstance(expr, cst.Integer):
        k = int(expr.value, 0)
        return [cst.Integer(str(v)) for v in (k + 1, k - 1) if v >= 0]
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.right, cst.Integer) and \
            isinstance(expr.operator, (cst.Add, cst.Subtract)):
        k = int(expr.right.value, 0) * (1 if isinstance(expr.operator, cst.Add) else -1)
        out: list[cst.BaseExpression] = []
        for v in (k + 1, k - 1):
            if v == 0:
                out.append(expr.left)
            else:
                op = cst.Add() if v > 0 else cst.Subtract()
                out.append(expr.with_changes(operator=op, right=cst.Integer(str(abs(v)))))
        return out
    if isinstance(expr, cst.UnaryOperation) or isinstance(expr, cst.SimpleString):
        return []
    return [cst.BinaryOperation(left=expr, operator=cst.Add(), right=one),
            cst.BinaryOperation(left=expr, operator=cst.Subtract(), right=one)]


def _numeric_looking(expr: cst.BaseExpression) -> bool:
    """An expression that may be a number: not a literal string, collection, bool, None or comparison."""
    if isinstance(expr, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString, cst.List, cst.Tuple,
                         cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp, cst.GeneratorExp, cst.Lambda,
                         cst.Comparison, cst.BooleanOperation, cst.Await, cst.Yield)):
        return False
    if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None", "self"):
        return False
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        return False
    return not isinstance(expr, cst.Float)


def _plus_minus_one(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    """``expr + 1`` and ``expr - 1`` for an integer-looking expression (a literal moves by one instead)."""
    if not _numeric_looking(expr) or isinstance(expr, cst.Call) and _code(expr.func) in ("str", "repr", "float"):
        return []
    if isinstance(expr, cst.Integer):
        return _off_by_one(expr)
    inner = expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]) \
        if isinstance(expr, (cst.BinaryOperation, cst.IfExp)) else expr
    return [cst.BinaryOperation(left=inner, operator=op, right=cst.Integer("1"))
            for op in (cst.Add(), cst.Subtract())]


def _is_sleep(stmt: cst.CSTNode) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    expr = stmt.body[0]
    if not isinstance(expr, cst.Expr) or not isinstance(expr.value, cst.Call):
        return False
    func = _code(expr.value.func)
    return func in ("time.sleep", "sleep")


def _ends_flow(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(s, (cst.Return, cst.Raise, cst.Continue, cst.Break)) for s in stmt.body)


def _pass() -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(body=[cst.Pass()])


_EMPTY = cst.Module(body=[])


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def _op(op: cst.CSTNode) -> str:
    return _code(op).strip()


_Op = TypeVar("_Op", bound=cst.CSTNode)


def _same_spacing(old: cst.CSTNode, new_type: type[_Op]) -> _Op:
    """An operator of ``new_type`` spaced like ``old`` (every swapped operator has both whitespace fields)."""
    return new_type(**{name: getattr(old, name) for name in ("whitespace_before", "whitespace_after")})
