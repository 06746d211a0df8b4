"""Side-by-side measurement of noisy metrics: the reference and the new state, interleaved in one time window.

A timing measured now against a baseline measured minutes ago mostly
measures the change in the machine's load. Here both states run alternately
(a warm-up execution of each first, discarded, then A B B A blocks), so a load
change hits both, and the comparison is the exact Mann-Whitney interval of the
ratio (``model/stats``). The samples are looked at a few times as they grow
(``stats.SCHEDULE``: 3, 8, 16, 32, 64, 128 a side, the alpha split unevenly over the
looks, most of it kept for the last): a clear answer stops early, so a quiet
machine needs few executions and a loaded one gets more. Sampling also stops
when more samples could not change the decision (futility, which can only stop,
never accept): at the first look a change surely within the noise margin; at
later looks a change surely (``stats.FUTILITY_BETA``, one-sided) smaller than
a 1.2x speed-up (``stats.WORTH``): a true 1.25x is almost never given up on (a
stop on "the estimate went the wrong way" at 8 a side gave up 5% of them under
+-40% noise, one built around 1.25x itself 3%). The ceiling is
what the time left allows: one comparison takes at most a quarter of it. When
the machine has several free CPUs, both sides' timed executions run on one of
them (``measure/affinity.py``; why or why not in the logs' ``pinning.json``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from remoroo.loop.state import RunContext, Setup
from remoroo.measure.affinity import LoadWindow, Pinning
from remoroo.measure.once import Measurement
from remoroo.measure.repeat import combine
from remoroo.model.decide import Intervals, relative_bound
from remoroo.model.goal import Goal
from remoroo.model.metrics import is_memory, is_timing
from remoroo.model.stats import (
    FUTILITY_ALPHA,
    FUTILITY_BETA,
    WORTH,
    Method,
    alpha_for,
    equivalent,
    ratio_interval,
    schedule,
)

MAX_SAMPLES = 128  # per side: the cost ceiling on a very noisy machine
TIME_SHARE = 0.25  # of the run's time left, at most, for one side-by-side comparison


def noisy_metrics(setup: Setup) -> list[str]:
    """Goal metrics that vary between runs of the same code (timings, memory with a spread at baseline);
    a metric with zero spread at baseline is compared exactly, as any computed value is."""
    return [m for m in setup.goal.metric_names
            if (is_timing(m) or is_memory(m)) and setup.baseline.spread.get(m, 0.0) > 0.0]


def ceiling(configured: int, pair_s: float, time_left_s: float) -> int:
    """Samples a side at most: the user's repeats when set, else what a quarter of the time left allows."""
    if configured:
        return configured
    affordable = int(TIME_SHARE * time_left_s / max(pair_s, 1e-3))
    return max(3, min(MAX_SAMPLES, affordable))


@dataclass
class Paired:
    new: Measurement
    old: Measurement
    intervals: Intervals = field(default_factory=dict)  # new / old, per noisy metric
    executions: int = 0
    pinning: Pinning | None = None  # the CPU both sides ran on, and why (None: decided before any choice)


def measure_side_by_side(ctx: RunContext, setup: Setup, old_tree: Path, new_tree: Path, logs: Path,
                         test: int, old_vs_base: Intervals | None = None,
                         hopeless: Callable[[Measurement], bool] | None = None) -> Paired:
    """Measure ``old_tree`` and ``new_tree`` interleaved until every noisy goal metric's interval is clear,
    futile, or the samples reach their ceiling; ``test`` is this comparison's index in the run's family,
    ``old_vs_base`` where the old state stands against the baseline (none: it is the baseline). A new state
    that is ``hopeless`` after its warm-up (it breaks a deterministic target, say) is not timed further."""
    alpha = alpha_for(test)
    metrics, noisy = setup.metrics, noisy_metrics(setup)
    deadline = ctx.budgets.deadline

    pinned: tuple[int, ...] = ()

    def once(tree: Path, where: Path) -> Measurement:
        return ctx.measurer.measure(setup.plan, metrics, tree, where, repeats=1, deadline=deadline, cpus=pinned)

    window = LoadWindow()
    warm_old = once(old_tree, logs / "warmup-old")  # caches, imports, page cache: a tree's first run is slower
    warm_new = once(new_tree, logs / "warmup-new")
    if hopeless is not None and hopeless(warm_new):  # no timing can save it: one run says so
        return Paired(new=warm_new, old=warm_old, intervals={}, executions=2)
    pinning = window.choose(setup.plan, [warm_old, warm_new])  # both sides on one CPU, or neither
    pinned = pinning.cpus
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "pinning.json").write_text(json.dumps({"cpus": list(pinned), "why": pinning.why}) + "\n",
                                       encoding="utf-8")
    top = ceiling(ctx.config.repeats, warm_old.duration_s + warm_new.duration_s, deadline - time.monotonic())
    olds: list[Measurement] = []
    news: list[Measurement] = []
    intervals: Intervals = {}
    for number, look in enumerate(schedule(top)):
        while len(news) < look.size and time.monotonic() < deadline:
            block = len(news) // 2
            order = [("old", old_tree), ("new", new_tree)] if block % 2 == 0 else [("new", new_tree),
                                                                                    ("old", old_tree)]
            for name, tree in order + order[::-1]:  # A B B A
                if len(news if name == "new" else olds) >= look.size:
                    continue
                result = once(tree, logs / f"{name}-{len(news if name == 'new' else olds) + 1}")
                (news if name == "new" else olds).append(result)
            if not news[-1].code_runs or not olds[-1].code_runs:
                break  # a state that fails to run has no timing worth comparing
        intervals = _intervals(noisy, olds, news, alpha * look.share, look.method)
        if not news[-1].code_runs or not olds[-1].code_runs or time.monotonic() >= deadline:
            break
        bounds = _bounds(setup, noisy, old_vs_base or {})
        margin = ctx.config.noise_rel_timing
        if _settled(setup.goal, noisy, intervals, bounds, margin=margin):
            break
        if number == 0:  # three a side: only a change surely within the margin either way stops
            loose = _intervals(noisy, olds, news, FUTILITY_ALPHA, look.method)
            if _futile(setup.goal, noisy, loose, bounds, margin, both_ways=True):
                break
        else:  # Welch on the logs: narrower than the exact interval at 8 a side, and it only ever stops
            loose = _intervals(noisy, olds, news, FUTILITY_BETA, "t")
            if _futile(setup.goal, noisy, loose, bounds, WORTH):
                break
    return Paired(new=combine(news), old=combine(olds), intervals=intervals, executions=2 + len(news) + len(olds),
                  pinning=pinning)


def _intervals(noisy: list[str], olds: list[Measurement], news: list[Measurement], alpha: float,
               method: Method) -> Intervals:
    found: Intervals = {}
    for metric in noisy:
        a = [float(m.metrics[metric]) for m in olds if isinstance(m.metrics.get(metric), (int, float))]
        b = [float(m.metrics[metric]) for m in news if isinstance(m.metrics.get(metric), (int, float))]
        if len(a) == len(olds) and len(b) == len(news):
            interval = ratio_interval(a, b, alpha, method)
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
             margin: float) -> bool:
    """Every noisy target metric is clear of every bound its decision turns on, or changed too little to
    matter (its whole interval within ``1 -+ margin``): more samples would not change the decision."""
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
        if not clear:
            return False
    return True


def _futile(goal: Goal, noisy: list[str], loose: Intervals, bounds: dict[str, list[float]], margin: float,
            both_ways: bool = False) -> bool:
    """Every noisy target metric surely (at the loose level) improves by less than ``margin`` (a fraction:
    0.25 is 1.25x) while all its bounds ask for an improvement: more samples would most likely only confirm a
    revert. Never a reason to accept.

    ``both_ways`` (the first look, three samples a side): only a change surely within ``1 -+ margin`` either
    way stops, so that a real speed-up unlucky in its first three samples is not given up on."""
    for target in goal.targets:
        if target.metric not in noisy or target.direction not in ("minimize", "maximize"):
            continue
        interval = loose.get(target.metric)
        if interval is None:
            return False
        wanted = bounds.get(target.metric, [1.0])
        if both_ways and not equivalent(interval, margin):
            return False
        if target.direction == "minimize":
            if any(b > 1.0 for b in wanted) or not interval.above(1 / (1 + margin)):
                return False
        elif any(b < 1.0 for b in wanted) or not interval.below(1 + margin):
            return False
    return True
