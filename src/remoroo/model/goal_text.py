"""Targets stated only in the goal's words: "run in under 0.5s and use less than 10MB of memory".

:func:`stated_targets` reads comparisons in words (under, below, less than, at
most, within, no more than, at least, above, over, more than, exceeds) next
to a number with a unit or a metric name, and "N x faster" / "twice as fast" /
"by N%". Each result is a spec clause of the grammar in :mod:`.spec`, with the
phrase it came from, so a plan can show the user what it read and the user can
confirm it. Nothing here guesses a number the words do not hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from remoroo.errors import SpecError
from remoroo.model.spec import parse_clause

NUM = r"(\d+(?:\.\d+)?|\.\d+)"
_LESS = {"under": "<", "below": "<", "less than": "<", "lower than": "<", "fewer than": "<", "smaller than": "<",
         "at most": "<=", "within": "<=", "no more than": "<=", "not more than": "<=", "max": "<=", "maximum": "<=",
         "<": "<", "<=": "<="}
_MORE = {"above": ">", "over": ">", "more than": ">", "greater than": ">", "higher than": ">", "exceeds": ">",
         "exceed": ">", "at least": ">=", "no less than": ">=", "not less than": ">=", "minimum": ">=", "min": ">=",
         ">": ">", ">=": ">=", "of at least": ">="}
_CMP = "|".join(sorted((re.escape(k) for k in (*_LESS, *_MORE)), key=len, reverse=True))
_TIME_UNITS = r"ms|milliseconds?|s|secs?|seconds?|min|minutes?|us|µs"
_SIZE_UNITS = r"[kmg]i?b|bytes"
_TIME = re.compile(rf"(?<![\w.])({_CMP})\s+{NUM}\s*({_TIME_UNITS})(?![\w])", re.I)
_SIZE = re.compile(rf"(?<![\w.])({_CMP})\s+{NUM}\s*({_SIZE_UNITS})(?![\w])", re.I)
_NAMED = re.compile(rf"(?<![\w.])(accuracy|acc|f1(?:[ _]score)?|precision|recall|auc|loss|error(?: rate)?|mse|mae|"
                    rf"rmse|score|coverage|throughput|latency|reward|perplexity)\s+(?:(?:should|must|to|needs? to)\s+"
                    rf"(?:be\s+|reach\s+|stay\s+|get\s+)?|(?:is|of|at|reaches|reach|stays?|gets?|gives)\s+)*"
                    rf"({_CMP})\s+{NUM}\s*(%|percent|{_TIME_UNITS}(?![\w]))?", re.I)
_FASTER = re.compile(rf"(?<![\w.]){NUM}\s*(?:x|times)\s+(?:as\s+)?fast(?:er)?|(twice|three times|four times)\s+as\s+"
                     rf"fast|(?:faster|speed(?:\s*up)?|runtime|run\s*time|time)\s+(?:\w+\s+){{0,3}}by\s+{NUM}\s*%",
                     re.I)
_WORDS = {"twice": 2.0, "three times": 3.0, "four times": 4.0}
_FRACTION_NAMES = ("accuracy", "acc", "f1", "precision", "recall", "auc", "error")
_MEMORY_CONTEXT = re.compile(r"memory|ram|rss|heap|peak", re.I)


@dataclass(frozen=True)
class Stated:
    phrase: str
    clause: str


def stated_targets(text: str) -> list[Stated]:
    found: list[Stated] = []
    taken: list[tuple[int, int]] = []

    def add(match: re.Match[str], clause: str) -> None:
        if any(a < match.end() and match.start() < b for a, b in taken):
            return  # words another reading already took ("latency under 100 ms" is not also a runtime)
        try:
            parse_clause(clause)
        except SpecError:
            return
        if all(s.clause.split()[0] != clause.split()[0] for s in found):
            found.append(Stated(match.group(0).strip(), clause))
            taken.append((match.start(), match.end()))

    for match in _NAMED.finditer(text):
        name, op_word, value, unit = match.group(1), match.group(2), float(match.group(3)), match.group(4) or ""
        metric = _metric_name(name)
        if unit.lower() in ("%", "percent"):
            value = value / 100.0 if metric.startswith(_FRACTION_NAMES) else value
            unit = ""
        elif unit:
            unit = _unit(unit)
            metric = f"{metric}_{unit}"
        add(match, f"{metric} {_op(op_word)} {_num(value)}{unit}")
    for match in _TIME.finditer(text):
        add(match, f"runtime_s {_op(match.group(1))} {match.group(2)}{_unit(match.group(3))}")
    for match in _SIZE.finditer(text):
        if _MEMORY_CONTEXT.search(text[max(0, match.start() - 60):match.end() + 60]):
            add(match, f"peak_memory_mb {_op(match.group(1))} {match.group(2)}{match.group(3).upper()}")
    for match in _FASTER.finditer(text):
        if match.group(1):
            factor = float(match.group(1))
        elif match.group(2):
            factor = _WORDS[match.group(2).lower()]
        else:
            cut = float(match.group(3))
            if not 0 < cut < 100:
                continue
            add(match, f"runtime_s <= {_num(1 - cut / 100)} * baseline runtime_s")
            continue
        if factor > 1:
            add(match, f"runtime_s <= {_num(1 / factor)} * baseline runtime_s")
    return found


def _op(word: str) -> str:
    key = " ".join(word.lower().split())
    return _LESS.get(key) or _MORE[key]


def _metric_name(word: str) -> str:
    key = "_".join(word.lower().split())
    return {"acc": "accuracy", "f1_score": "f1", "error_rate": "error"}.get(key, key)


def _unit(unit: str) -> str:
    low = unit.lower()
    if low.startswith("milli") or low == "ms":
        return "ms"
    if low in ("us", "µs"):
        return "us"
    if low.startswith("min"):
        return "min"
    return "s"


def _num(value: float) -> str:
    return f"{value:.6g}"
