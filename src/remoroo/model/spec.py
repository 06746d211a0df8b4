"""The metric spec grammar.

::

    spec    := clause (("," | "AND" | "and") clause)*
    clause  := NAME "exists"
             | NAME OP rhs
    OP      := "==" | "!=" | "<=" | ">=" | "<" | ">"
    rhs     := NUMBER [UNIT] | "true" | "false" | QUOTED
             | [NUMBER ("*" | "x")] "baseline" [NAME]

A clause with no comparison operator that is not ``NAME exists`` (``is
correct``, ``METEOR``) becomes a :class:`~remoroo.model.goal.SemanticTarget` that
the plan must resolve into a measurable target, and so does a clause in words
that happens to hold an operator (``coverage >= 90% for 100% of files``: three
or more words besides units and keywords). Any other clause that *has* an
operator but does not parse is a :class:`~remoroo.errors.SpecError`.

Units convert to the unit the metric's name ends with (``latency_ms``,
``runtime_s``, ``peak_memory_mb``); a name without a unit suffix gets seconds
for times and MB for sizes. KB/MB/GB are binary multiples (as memory tools
report them), the same as KiB/MiB/GiB. ``baseline`` with no name refers to
the clause's own metric.
"""

from __future__ import annotations

import re

from remoroo.errors import SpecError
from remoroo.model.goal import BaselineRef, Goal, Literal_, SemanticTarget, Target

NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*"
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_OPS = ("==", "!=", "<=", ">=", "<", ">")
_OP_RE = re.compile(r"==|!=|<=|>=|<|>|=")
_SPLIT_RE = re.compile(r"""("[^"]*"|'[^']*')|(,)|(?<![\w.\-])(AND|and)(?![\w.\-])""")

_TIME = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "sec": 1.0,
         "secs": 1.0, "seconds": 1.0, "min": 60.0, "h": 3600.0}
_SIZE = {"b": 1.0, "bytes": 1.0, "kb": 2.0**10, "kib": 2.0**10, "mb": 2.0**20,
         "mib": 2.0**20, "gb": 2.0**30, "gib": 2.0**30}
_TIME_SUFFIX = {"_ns": "ns", "_us": "us", "_ms": "ms", "_s": "s", "_sec": "s",
                "_secs": "s", "_seconds": "s", "_time": "s", "_min": "min"}
_SIZE_SUFFIX = {"_bytes": "b", "_b": "b", "_kb": "kb", "_mb": "mb", "_gb": "gb",
                "_kib": "kb", "_mib": "mb", "_gib": "gb"}

_EXISTS_RE = re.compile(rf"^({NAME})\s+exists$")
_CMP_RE = re.compile(rf"^({NAME})\s*(==|!=|<=|>=|<|>)\s*(.*)$", re.S)
_NUM_UNIT_RE = re.compile(rf"^({NUMBER})\s*([A-Za-zµ]+)?$")
_BASELINE_RE = re.compile(rf"^(?:({NUMBER})\s*(?:\*|x)\s*)?baseline(?:\s+({NAME}))?$")


def parse_goal(text: str, spec: str) -> Goal:
    """Parse ``spec`` into targets and semantic clauses for the goal ``text``."""
    if not text or not text.strip():
        raise SpecError("The goal is empty: describe in words what should improve, e.g. --goal 'make fib correct'.")
    targets, semantic = parse_spec(spec)
    return Goal(text=text.strip(), spec=spec, targets=tuple(targets), semantic=tuple(semantic))


def parse_spec(spec: str) -> tuple[list[Target], list[SemanticTarget]]:
    clauses = split_clauses(spec)
    if not clauses:
        raise SpecError(
            f"The metric spec {spec!r} has no clause: give at least one, e.g. 'fib_10 == 55' "
            "or 'accuracy >= 0.92, runtime_s <= 2.0'."
        )
    targets: list[Target] = []
    semantic: list[SemanticTarget] = []
    for clause in clauses:
        parsed = parse_clause(clause)
        if isinstance(parsed, Target):
            targets.append(parsed)
        else:
            semantic.append(parsed)
    return targets, semantic


def split_clauses(spec: str) -> list[str]:
    """Split on ``,`` and the word AND/and, never inside quotes."""
    if not isinstance(spec, str):
        raise SpecError("The metric spec must be a string such as 'fib_10 == 55'.")
    parts: list[str] = []
    start = 0
    for match in _SPLIT_RE.finditer(spec):
        if match.group(1):  # a quoted string: skip over it
            continue
        parts.append(spec[start:match.start()])
        start = match.end()
    parts.append(spec[start:])
    _check_quotes(spec)
    return [part.strip() for part in parts if part.strip()]


def _check_quotes(spec: str) -> None:
    unquoted = re.sub(r"\"[^\"]*\"|'[^']*'", "", spec)
    if '"' in unquoted or "'" in unquoted:
        raise SpecError(f"The metric spec {spec!r} has an unclosed quote: close every quoted string.")


def parse_clause(clause: str) -> Target | SemanticTarget:
    clause = clause.strip()
    exists = _EXISTS_RE.match(clause)
    if exists:
        return Target(metric=exists.group(1), op="exists", text=clause)
    unquoted = re.sub(r"\"[^\"]*\"|'[^']*'", "", clause)
    if not _OP_RE.search(unquoted):
        return SemanticTarget(text=clause)
    match = _CMP_RE.match(clause)
    if not match and _is_prose(unquoted):
        return SemanticTarget(text=clause)
    if not match:
        raise SpecError(
            f"Cannot parse the clause {clause!r}: write it as NAME OP VALUE with OP one of "
            f"{' '.join(_OPS)}, e.g. 'accuracy >= 0.92' (a single '=' is not a comparison)."
        )
    name, op, rhs_text = match.group(1), match.group(2), match.group(3).strip()
    if not rhs_text:
        raise SpecError(f"The clause {clause!r} has no value after {op!r}: write e.g. '{name} {op} 1'.")
    try:
        rhs = _parse_rhs(name, op, rhs_text, clause)
    except SpecError:
        if _is_prose(unquoted):  # 'coverage >= 90% for 100% of files': words the grammar cannot measure
            return SemanticTarget(text=clause)
        raise
    return Target(metric=name, op=op, rhs=rhs, text=clause)


_WORD = re.compile(r"(?<![\w.])[A-Za-z]{2,}(?![\w.])")
_KEYWORDS = {"baseline", "true", "false", "True", "False", "exists", "AND", "and"}


def _is_prose(clause: str) -> bool:
    """A clause of words (three or more besides units and keywords) rather than a mistyped comparison."""
    words = [w for w in _WORD.findall(clause) if w not in _KEYWORDS and w.lower() not in _TIME and
             w.lower() not in _SIZE]
    return len(words) >= 3


def _parse_rhs(name: str, op: str, text: str, clause: str) -> Literal_ | BaselineRef:
    if text in ("true", "false", "True", "False"):
        return Literal_(value=text.lower() == "true", text=text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        if op not in ("==", "!="):
            raise SpecError(f"The clause {clause!r} orders a string: strings compare only with == or !=.")
        return Literal_(value=text[1:-1], text=text)
    base = _BASELINE_RE.match(text)
    if base:
        factor = float(base.group(1)) if base.group(1) else 1.0
        return BaselineRef(metric=base.group(2) or name, factor=factor)
    num = _NUM_UNIT_RE.match(text)
    if num:
        value = _number(num.group(1))
        if num.group(2):
            value = _convert(name, value, num.group(2), clause)
        return Literal_(value=value, text=text)
    raise SpecError(
        f"Cannot read the value {text!r} in {clause!r}: use a number with an optional unit "
        "(100ms, 128MB), true/false, a quoted string, 'baseline NAME' or 'K * baseline NAME'."
    )


def _number(text: str) -> int | float:
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    return float(text)


def _convert(name: str, value: float, unit: str, clause: str) -> float:
    key = unit.lower() if unit not in _TIME else unit
    lower = name.lower()
    if key in _TIME:
        wanted = next((u for suf, u in _TIME_SUFFIX.items() if lower.endswith(suf)), "s")
        return _round(value * _TIME[key] / _TIME[wanted])
    if key in _SIZE:
        wanted = next((u for suf, u in _SIZE_SUFFIX.items() if lower.endswith(suf)), "mb")
        return _round(value * _SIZE[key] / _SIZE[wanted])
    raise SpecError(
        f"Unknown unit {unit!r} in {clause!r}: use a time (ns, us, ms, s, min, h) or a size "
        "(B, KB, MB, GB), or write the bare number in the metric's own unit."
    )


def _round(value: float) -> float:
    """Drop binary noise from unit conversion (0.1 * 1000 -> 100.0)."""
    return float(f"{value:.12g}")


def render_target(target: Target) -> str:
    """The canonical text of a target (inverse of :func:`parse_clause`)."""
    if target.op == "exists" or target.rhs is None:
        return f"{target.metric} exists"
    rhs = target.rhs
    if isinstance(rhs, BaselineRef):
        factor = "" if rhs.factor == 1.0 else f"{rhs.factor!r} * "
        return f"{target.metric} {target.op} {factor}baseline {rhs.metric}"
    value = rhs.value
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = '"' + value + '"'
    else:
        text = repr(value)
    return f"{target.metric} {target.op} {text}"
