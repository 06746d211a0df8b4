"""What a metric's name says it measures: the one place that decides which metrics are timings.

A timing is noisy (a wider noise band, repeats, never measured side by side);
memory is machine-bound; a computed value comes from the program's own state.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["a duration", "memory", "a computed value"]

_TIMING = re.compile(r"time|latency|duration|runtime|elapsed|seconds|_(s|ms|us|ns|sec)$", re.I)
_MEMORY = re.compile(r"mem|rss|heap|_(mb|gb|kb|mib|gib|bytes)$", re.I)
_COMPUTED = re.compile(r"acc|f1|precision|recall|auc|loss|error|score|bleu|rouge|perplexity|mse|mae|rmse|reward|"
                       r"answer|result|fib", re.I)


def is_timing(metric: str) -> bool:
    """Whether ``metric`` names a duration (``runtime_s``, ``latency_ms``, ``training_time``)."""
    return bool(_TIMING.search(metric))


def is_memory(metric: str) -> bool:
    return bool(_MEMORY.search(metric))


def metric_kind(metric: str) -> Kind | None:
    """The quantity a metric's name plainly names, timings first; None when the name does not say."""
    if is_timing(metric):
        return "a duration"
    if is_memory(metric):
        return "memory"
    if _COMPUTED.search(metric):
        return "a computed value"
    return None
