"""Metric names as programs spell them: ``acc``, ``Accuracy``, ``val_accuracy``, ``latency (ms)``.

:func:`match` scores how well a label the program printed or wrote names a
goal metric: the same words after case, separators and unit suffixes are
folded (best), an alias of a common metric (``acc`` for ``accuracy``), or the
metric as the last words of a longer label (``val_accuracy``, ``test acc``).
Units must agree where both sides state one: ``latency_ms`` never matches a
``latency`` printed in seconds.
"""

from __future__ import annotations

import re

_UNITS = {"s": "s", "sec": "s", "secs": "s", "seconds": "s", "second": "s", "ms": "ms", "us": "us", "ns": "ns",
          "min": "min", "mb": "mb", "mib": "mb", "kb": "kb", "kib": "kb", "gb": "gb", "gib": "gb", "b": "b",
          "bytes": "b", "pct": "%", "percent": "%", "%": "%"}
_ALIASES = {
    "accuracy": ("acc", "accuracy_score"), "f1": ("f1_score", "f_1", "fscore", "f_score", "f1score"),
    "precision": ("prec",), "recall": ("rec", "sensitivity"), "auc": ("roc_auc", "auroc", "roc"),
    "loss": ("cost", "objective"), "error": ("err", "error_rate"), "mse": ("mean_squared_error",),
    "mae": ("mean_absolute_error",), "rmse": ("root_mean_squared_error",), "runtime": ("time", "elapsed",
                                                                                         "duration", "wall_time"),
    "latency": ("lat", "response_time"), "throughput": ("qps", "rps", "ops_per_s", "requests_per_s"),
    "memory": ("mem", "rss", "peak_memory", "peak_rss", "memory_usage"), "score": ("points",),
    "tests_passed": ("passed", "tests_pass", "n_passed"), "tests_failed": ("failed", "failures", "n_failed"),
    "coverage": ("cov", "line_coverage"), "iterations": ("iters", "steps", "n_iter"),
}
_PREFIXES = ("val", "valid", "validation", "test", "eval", "final", "mean", "avg", "average", "total", "best", "train",
             "overall", "top1", "top_1")


def words(label: str) -> tuple[list[str], str | None]:
    """A label's words in lower case with separators folded, and the unit it states (``latency_ms``, ``Time (s)``)."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", label.strip())
    text = text.replace("%", " % ")
    parts = [p for p in re.split(r"[^A-Za-z0-9%µ]+", text.lower()) if p]
    unit = None
    if len(parts) > 1 and parts[-1] in _UNITS:
        unit = _UNITS[parts.pop()]
    return parts, unit


def canonical(label: str) -> str:
    return "_".join(words(label)[0])


def _forms(parts: list[str]) -> set[str]:
    base = "_".join(parts)
    forms = {base, base.replace("_", "")}
    for name, aliases in _ALIASES.items():
        if base == name or base in aliases:
            forms |= {name, *aliases}
    return forms


def match(metric: str, label: str) -> float:
    """0 (no match) to 1 (the same name): how well ``label`` names ``metric``."""
    m_parts, m_unit = words(metric)
    l_parts, l_unit = words(label)
    if not m_parts or not l_parts:
        return 0.0
    if m_unit and l_unit and m_unit != l_unit:
        return 0.0
    if m_parts == l_parts:
        return 1.0 if m_unit == l_unit or not (m_unit and l_unit) else 0.0
    wanted = _forms(m_parts)
    if "_".join(l_parts) in wanted or "".join(l_parts) in wanted:
        return 0.9
    for cut in range(1, len(l_parts)):  # 'val_accuracy', 'test acc', 'final_mean_loss'
        head, tail = l_parts[:cut], l_parts[cut:]
        if all(h in _PREFIXES for h in head) and "_".join(tail) in wanted:
            return 0.8 - 0.05 * cut - (0.1 if "train" in head else 0.0)
    return 0.0


def best_label(metric: str, labels: list[str], floor: float = 0.5) -> str | None:
    """The label that names ``metric`` best (the earliest among equals), or None."""
    scored = [(match(metric, label), -i, label) for i, label in enumerate(labels)]
    good = [s for s in scored if s[0] >= floor]
    return max(good)[2] if good else None
