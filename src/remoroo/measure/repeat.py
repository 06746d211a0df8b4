"""Repeated measurement for noisy metrics: medians, spread (MAD) and n.

A goal with a timing metric is measured several times: adaptively, more
repeats for a fast command (9 under 0.2 s, 5 under 1 s, else 3), and the
baseline twice as often, since its spread sets the noise floor. The value
of a numeric metric is the median of its repeats; its spread is the median
absolute deviation. A metric missing in any repeat, or a non-numeric value
that differs between repeats, has no value.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Callable

from remoroo.measure.once import Measurement
from remoroo.model.goal import is_number
from remoroo.model.metrics import is_timing

K_MAD = 3.0
MAD_TO_SIGMA = 1.4826  # the MAD of normal data times this estimates its standard deviation


def repeats_for(metrics: list[str], first_duration_s: float, configured: int) -> int:
    if "deterministic" in metrics:
        return max(2, configured)
    if configured > 0:
        return configured
    if not any(is_timing(m) for m in metrics):
        return 1
    if first_duration_s < 0.2:
        return 9
    return 5 if first_duration_s < 1.0 else 3


def measure_repeated(once: Callable[[Path], Measurement], logs: Path, repeats: int, deadline: float,
                     first: Measurement | None = None) -> Measurement:
    """``once(logs_dir)`` up to ``repeats`` times (stopping early on failure or at the deadline), combined."""
    results = [first] if first is not None else [once(logs)]
    while len(results) < repeats and results[-1].code_runs and time.monotonic() < deadline:
        results.append(once(logs / f"repeat-{len(results) + 1}"))
    return combine(results)


def combine(results: list[Measurement]) -> Measurement:
    if len(results) == 1:
        return results[0]
    merged = results[-1].model_copy(deep=True)
    merged.metrics, merged.missing = {}, {}
    merged.repeats = len(results)
    merged.duration_s = sum(r.duration_s for r in results)
    merged.flags = sorted({f for r in results for f in r.flags})
    names = {m for r in results for m in (*r.metrics, *r.missing)}
    for name in sorted(names):
        values = [r.metrics[name] for r in results if name in r.metrics]
        if len(values) < len(results):
            why = next((r.missing[name] for r in results if name in r.missing), "no value")
            merged.missing[name] = f"missing in {len(results) - len(values)} of {len(results)} repeats: {why}"
        elif all(is_number(v) for v in values):
            floats = [float(v) for v in values]
            median = statistics.median(floats)
            merged.metrics[name] = median
            merged.samples[name] = floats
            merged.spread[name] = statistics.median(abs(v - median) for v in floats)
        elif all(v == values[0] for v in values):
            merged.metrics[name] = values[0]
        else:
            merged.missing[name] = f"differs between repeats: {values}"
    if "deterministic" in names:
        merged.missing.pop("deterministic", None)
        compared = [m for m in names if m != "deterministic" and not is_timing(m) and m != "peak_memory_mb"]
        merged.metrics["deterministic"] = all(
            len({repr(r.metrics.get(m)) for r in results}) == 1 for m in compared) and results[-1].code_runs
    return merged


def noise_floors(baseline: Measurement) -> dict[str, float]:
    """Three standard deviations of each metric's baseline repeats (estimated robustly from the MAD)."""
    return {name: K_MAD * MAD_TO_SIGMA * spread for name, spread in baseline.spread.items()}


def baseline_repeats(repeats: int) -> int:
    """The baseline is measured twice as often as a candidate: its spread sets every later noise floor."""
    return repeats if repeats <= 1 else 2 * repeats
