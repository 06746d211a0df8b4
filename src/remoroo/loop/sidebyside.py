"""Side-by-side measurement of noisy metrics: the reference and the new state, interleaved in one time window.

A timing measured now against a baseline measured minutes ago mostly
measures the change in the machine's load. Here both states run alternately
(a warm-up execution of each first, discarded, then A B B A blocks), so a load
change hits both, and the comparison is the exact Mann-Whitney interval of the
ratio (``model/stats``). The samples are looked at a few times as they grow
(sequential testing, the alpha split over the looks): a clear answer stops
early, so a quiet machine needs few executions and a loaded one gets more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from remoroo.loop.state import RunContext, Setup
from remoroo.measure.once import Measurement
from remoroo.measure.repeat import combine
from remoroo.model.decide import Intervals, relative_bound
from remoroo.model.goal import Goal
from remoroo.model.metrics import is_memory, is_timing
from remoroo.model.stats import LOOKS, alpha_for, equivalent, min_samples, ratio_interval

MAX_SAMPLES = 24  # per side: the cost ceiling on a very noisy machine


def noisy_metrics(setup: Setup) -> list[str]:
    """Goal metrics that vary between runs of the same code (timings, memory with a spread at baseline);
    a metric with zero spread at baseline is compared exactly, as any computed value is."""
    return [m for m in setup.goal.metric_names
            if (is_timing(m) or is_memory(m)) and setup.baseline.spread.get(m, 0.0) > 0.0]


def looks(alpha: float, ceiling: int = MAX_SAMPLES) -> list[int]:
    """Sample sizes (per side) at which the intervals are looked at: three (Welch's t settles a clear change on
    a quiet machine), then the sizes from which the exact rank interval exists, up to the ceiling."""
    exact = min_samples(alpha / 2)
    top = max(3, ceiling)
    return sorted({min(top, n) for n in (3, exact, exact + 6, top)})[:LOOKS]


@dataclass
class Paired:
    new: Measurement
    old: Measurement
    intervals: Intervals = field(default_factory=dict)  # new / old, per noisy metric
    executions: int = 0


def measure_side_by_side(ctx: RunContext, setup: Setup, old_tree: Path, new_tree: Path, logs: Path,
                         test: int, old_vs_base: Intervals | None = None,
                         hopeless: Callable[[Measurement], bool] | None = None) -> Paired:
    """Measure ``old_tree`` and ``new_tree`` interleaved until every noisy goal metric's interval is clear,
    futile, or the samples reach their ceiling; ``test`` is this comparison's index in the run's family,
    ``old_vs_base`` where the old state stands against the baseline (none: it is the baseline). A new state
    that is ``hopeless`` after its warm-up (it breaks a deterministic target, say) is not timed further."""
    alpha = alpha_for(test) / LOOKS
    metrics, noisy = setup.metrics, noisy_metrics(setup)
    sizes = looks(alpha, ctx.config.repeats or MAX_SAMPLES)  # repeats set by the user: at most that many a side
    deadline = ctx.budgets.deadline

    def once(tree: Path, where: Path) -> Measurement:
        return ctx.measurer.measure(setup.plan, metrics, tree, where, repeats=1, deadline=deadline)

    warm_old = once(old_tree, logs / "warmup-old")  # caches, imports, page cache: a tree's first run is slower
    warm_new = once(new_tree, logs / "warmup-new")
    if hopeless is not None and hopeless(warm_new):  # no timing can save it: one run says so
        return Paired(new=warm_new, old=warm_old, intervals={}, executions=2)
    olds: list[Measurement] = []
    news: list[Measurement] = []
    intervals: Intervals = {}
    for size in sizes:
        while len(news) < size and time.monotonic() < deadline:
            block = len(news) // 2
            order = [("old", old_tree), ("new", new_tree)] if block % 2 == 0 else [("new", new_tree),
                                                                                    ("old", old_tree)]
            for name, tree in order + order[::-1]:  # A B B A
                if len(news if name == "new" else olds) >= size:
                    continue
                result = once(tree, logs / f"{name}-{len(news if name == 'new' else olds) + 1}")
                (news if name == "new" else olds).append(result)
            if not news[-1].code_runs or not olds[-1].code_runs:
                break  # a state that fails to run has no timing worth comparing
        intervals = _intervals(noisy, olds, news, alpha)
        if not news[-1].code_runs or not olds[-1].code_runs or time.monotonic() >= deadline:
            break
        bounds = _bounds(setup, noisy, old_vs_base or {})
        if _settled(setup.goal, noisy, intervals, bounds, first=size == sizes[0],
                    margin=ctx.config.noise_rel_timing):
            break
    return Paired(new=combine(news), old=combine(olds), intervals=intervals, executions=2 + len(news) + len(olds))


def _intervals(noisy: list[str], olds: list[Measurement], news: list[Measurement], alpha: float) -> Intervals:
    found: Intervals = {}
    for metric in noisy:
        a = [float(m.metrics[metric]) for m in olds if isinstance(m.metrics.get(metric), (int, float))]
        b = [float(m.metrics[metric]) for m in news if isinstance(m.metrics.get(metric), (int, float))]
        if len(a) == len(olds) and len(b) == len(news):
            interval = ratio_interval(a, b, alpha)
            if interval is not None:
                found[metric] = interval
    return found


def _bounds(setup: Setup, noisy: list[str], old_vs_base: Intervals) -> dict[str, list[float]]:
    """The ratios (new / old) each noisy target metric's decision turns on: 1 (did it move?) and, for a
    target relative to the baseline (``m <= K * baseline m``), K as seen from the old state."""
    bounds: dict[str, list[float]] = {m: [1.0] for m in noisy}
    for target in setup.goal.targets:
        k = relative_bound(target, setup.baseline_metrics)
        if target.metric in bounds and k is not None:
            seen = old_vs_base.get(target.metric)
            bounds[target.metric].append(k / seen.ratio if seen is not None else k)
    return bounds


def _settled(goal: Goal, noisy: list[str], intervals: Intervals, bounds: dict[str, list[float]],
             first: bool, margin: float) -> bool:
    """Every noisy target metric is clear of every bound its decision turns on, or changed too little to
    matter (its whole interval within ``1 -+ margin``), or (after the first look) shows no sign of the wanted
    direction at all: more samples would not change the decision."""
    for target in goal.targets:
        if target.metric not in noisy or target.direction not in ("minimize", "maximize"):
            continue
        interval = intervals.get(target.metric)
        if interval is None:
            return False
        clear = all(interval.below(b) or interval.above(b) for b in bounds.get(target.metric, [1.0]))
        clear = clear or (equivalent(interval, margin) and all(b < 1 / (1 + margin) or b > 1 + margin
                                                                for b in bounds.get(target.metric, [1.0])
                                                                if b != 1.0))
        wrong_way = interval.ratio >= 1.0 if target.direction == "minimize" else interval.ratio <= 1.0
        if not clear and (first or not wrong_way):
            return False
    return True
