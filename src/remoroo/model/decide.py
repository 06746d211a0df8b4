"""Decide: deterministic scoring, keep or revert, and the run's outcome.

Nothing here asks a model. A candidate is KEPT only when it makes metric
progress beyond noise over the kept state and breaks no target the kept state
met. The noise rule: a numeric metric changes only when it moves by more than
``abs_tol + rel_tol * |old|``; timing metrics use a larger ``rel_tol``.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from remoroo.model.goal import BaselineRef, Goal, Scalar, Target, is_number
from remoroo.model.metrics import is_timing
from remoroo.model.outcomes import AuditRule, Decision, Outcome
from remoroo.model.stats import Interval

Intervals = dict[str, Interval]  # metric -> ratio interval of a state against a reference (noisy metrics only)


class Noise(BaseModel):
    """A change counts only beyond ``abs_tol + max(rel * |old|, floor)``.

    ``floors`` come from the baseline's repeats: ``k`` times the median absolute
    deviation of each metric, so a metric that varies run to run needs a change
    well beyond its own spread.
    """

    rel_tol: float = 0.0
    rel_tol_timing: float = 0.10
    abs_tol: float = 1e-9
    floors: dict[str, float] = {}

    def tolerance(self, metric: str, old: float) -> float:
        rel = self.rel_tol_timing if is_timing(metric) else self.rel_tol
        return self.abs_tol + max(rel * abs(old), self.floors.get(metric, 0.0))


class TargetStatus(BaseModel):
    text: str
    metric: str
    value: Scalar | None
    threshold: Scalar | None
    met: bool
    interval: Interval | None = None  # a noisy metric's ratio to the baseline, when it was measured so


class Verdict(BaseModel):
    decision: Decision
    reason: str
    progress: bool
    improved: list[str] = []
    worsened: list[str] = []
    rules: list[AuditRule] = Field(default_factory=list, description="The audit rules behind a VETOED decision.")


def evaluate(goal: Goal, metrics: dict[str, Scalar], baseline: dict[str, Scalar],
             noise: Noise | None = None, vs_base: Intervals | None = None) -> list[TargetStatus]:
    return [
        TargetStatus(text=t.text, metric=t.metric, value=metrics.get(t.metric),
                     threshold=t.threshold(baseline), met=is_met(t, metrics, baseline, noise, vs_base),
                     interval=(vs_base or {}).get(t.metric))
        for t in goal.targets
    ]


def is_met(target: Target, metrics: dict[str, Scalar], baseline: dict[str, Scalar],
           noise: Noise | None = None, vs_base: Intervals | None = None) -> bool:
    """Whether ``target`` holds. Against a measured baseline (``< baseline x``), with ``noise``, the value
    must beat the threshold by more than the noise tolerance: a no-op never passes on a lucky sample.

    With ``vs_base`` (a noisy metric measured side by side with the baseline), a target ``m < K * baseline m``
    holds only when the whole confidence interval of ``m / baseline m`` lies below ``K``: the uncertainty of
    ``K x baseline`` is K times the baseline's, combined with the candidate's, as the interval already is.
    """
    if target.metric not in metrics:
        return False
    if target.op == "exists":
        return True
    value, threshold = metrics[target.metric], target.threshold(baseline)
    if threshold is None:
        return False
    relative = relative_bound(target, baseline)
    interval = (vs_base or {}).get(target.metric)
    if interval is not None and relative is not None:
        return interval.below(relative) if target.op in ("<", "<=") else interval.above(relative)
    if is_number(value) and is_number(threshold):
        v, t = float(value), float(threshold)
        if noise is not None and isinstance(target.rhs, BaselineRef) and target.op in ("<", "<=", ">", ">="):
            margin = noise.tolerance(target.rhs.metric, abs(t))
            return v < t - margin if target.op in ("<", "<=") else v > t + margin
        return {
            "==": math.isclose(v, t, rel_tol=1e-9, abs_tol=1e-12),
            "!=": not math.isclose(v, t, rel_tol=1e-9, abs_tol=1e-12),
            "<": v < t, "<=": v <= t, ">": v > t, ">=": v >= t,
        }[target.op]
    if isinstance(threshold, bool) and isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
            and target.op in ("==", "!="):
        value = as_flag(value)  # a count (or a 0/1 flag) read as a yes/no: 'tests_passed == true'
    if target.op == "==":
        return value == threshold and type(value) is type(threshold)
    if target.op == "!=":
        return value != threshold
    return False


def as_flag(count: int) -> bool:
    """A count (or a 0/1 flag) where a yes/no is wanted: yes from 1 on (``tests_passed == true``: some test passed;
    ``tests_failed == false``: none failed)."""
    return count >= 1


def relative_bound(target: Target, baseline: dict[str, Scalar]) -> float | None:
    """K for a target ``m OP K * baseline m`` on the metric itself (an ordering op), else None."""
    rhs = target.rhs
    if not isinstance(rhs, BaselineRef) or rhs.metric != target.metric or target.op not in ("<", "<=", ">", ">="):
        return None
    base, threshold = baseline.get(rhs.metric), target.threshold(baseline)
    if not (is_number(base) and is_number(threshold)) or float(base) <= 0:
        return None
    return float(threshold) / float(base)


def _badness(target: Target, metrics: dict[str, Scalar], baseline: dict[str, Scalar]) -> float | None:
    """A number that falls as the metric moves toward the target (None: not comparable)."""
    value = metrics.get(target.metric)
    if not is_number(value):
        return None
    v = float(value)
    if target.direction == "minimize":
        return v
    if target.direction == "maximize":
        return -v
    threshold = target.threshold(baseline)
    if target.direction == "match" and is_number(threshold):
        return abs(v - float(threshold))
    return None


def compare(goal: Goal, old: dict[str, Scalar], new: dict[str, Scalar], baseline: dict[str, Scalar],
            noise: Noise, side: SideBySide | None = None) -> tuple[list[str], list[str]]:
    """Targets (by text) that improved and that worsened beyond noise, old -> new.

    With ``side`` (noisy metrics measured side by side), a noisy metric moves only when the confidence
    interval of ``new / old`` lies wholly beyond 1."""
    improved: list[str] = []
    worsened: list[str] = []
    side = side or SideBySide()
    for target in goal.targets:
        was = is_met(target, old, baseline, noise, side.old_vs_base)
        now = is_met(target, new, baseline, noise, side.new_vs_base)
        if was != now:
            (improved if now else worsened).append(target.text)
            continue
        moved = side.new_vs_old.get(target.metric)
        if moved is not None and target.direction in ("minimize", "maximize"):
            better = moved.below(1.0) if target.direction == "minimize" else moved.above(1.0)
            worse = moved.above(1.0) if target.direction == "minimize" else moved.below(1.0)
            if better and not now:
                improved.append(target.text)
            elif worse and not now:  # a target that stays met may move anywhere within its bound
                worsened.append(target.text)
            continue
        a, b = _badness(target, old, baseline), _badness(target, new, baseline)
        if a is None and b is not None and not now:
            improved.append(target.text)  # a value exists now where none did
        elif a is not None and b is None:
            worsened.append(target.text)
        elif a is not None and b is not None:
            tol = noise.tolerance(target.metric, abs(a))
            if b < a - tol and not now:
                improved.append(target.text)
            elif b > a + tol and not now:
                worsened.append(target.text)
    return improved, worsened


class SideBySide(BaseModel):
    """Intervals of noisy metrics measured side by side: the old and new states against the baseline, and the
    new state against the old one (empty: compare single values with the noise tolerance)."""

    old_vs_base: Intervals = Field(default_factory=dict)
    new_vs_base: Intervals = Field(default_factory=dict)
    new_vs_old: Intervals = Field(default_factory=dict)


def judge_candidate(goal: Goal, kept: dict[str, Scalar], kept_runs: bool, cand: dict[str, Scalar],
                    cand_runs: bool, baseline: dict[str, Scalar], noise: Noise,
                    side: SideBySide | None = None) -> Verdict:
    """KEPT or REVERTED for a candidate that applied, ran and passed the audit.

    Only metric progress keeps a candidate: a patch that merely makes the commands exit 0
    (for instance by making them do nothing) is not progress unless a target says so.
    """
    side = side or SideBySide()
    improved, worsened = compare(goal, kept, cand, baseline, noise, side)
    broken = [t.text for t in goal.targets
              if is_met(t, kept, baseline, noise, side.old_vs_base) and not is_met(t, cand, baseline, noise,
                                                                                  side.new_vs_base)]
    if broken:
        return Verdict(decision="REVERTED", progress=False, improved=improved, worsened=worsened,
                       reason=f"breaks met target(s): {', '.join(broken)}")
    if improved and not worsened:
        return Verdict(decision="KEPT", progress=True, improved=improved,
                       reason=f"improved: {', '.join(improved)}")
    if improved and worsened:
        reason = f"mixed: improved {', '.join(improved)} but worsened {', '.join(worsened)}"
    elif worsened:
        reason = f"worsened: {', '.join(worsened)}"
    else:
        reason = "no metric moved beyond noise"
    return Verdict(decision="REVERTED", progress=False, improved=improved, worsened=worsened, reason=reason)


def final_outcome(goal: Goal, baseline: dict[str, Scalar], final: dict[str, Scalar], changed: bool,
                  noise: Noise, vs_base: Intervals | None = None) -> tuple[Outcome, str]:
    """The run's outcome for its final state against the baseline: the one definition (README, "Outcomes").

    - SUCCESS: every target is met (the caller verifies it on a fresh copy before it stands);
    - PARTIAL_SUCCESS: at least one target is met that was not met at baseline, and no target is worse than at
      baseline beyond noise;
    - FAIL: everything else, progress toward targets that none of them reached included (the reason says so).
    """
    statuses = evaluate(goal, final, baseline, noise, vs_base)
    met = [s for s in statuses if s.met]
    if statuses and len(met) == len(statuses):
        return "SUCCESS", f"all {len(statuses)} target(s) met" + ("" if changed else " at baseline, no change needed")
    unmet = [s.text for s in statuses if not s.met]
    if not changed:
        return "FAIL", f"target(s) not met: {', '.join(unmet)}"
    at_baseline = {s.text for s in evaluate(goal, baseline, baseline, noise) if s.met}
    newly = [s.text for s in met if s.text not in at_baseline]
    side = SideBySide(new_vs_base=dict(vs_base or {}), new_vs_old=dict(vs_base or {}))
    improved, worsened = compare(goal, baseline, final, baseline, noise, side)
    if newly and not worsened:
        return "PARTIAL_SUCCESS", (f"{len(met)} of {len(statuses)} target(s) met, newly met: {', '.join(newly)}; "
                                   f"not met: {', '.join(unmet)}")
    if worsened:
        return "FAIL", f"target(s) not met: {', '.join(unmet)}; worse than baseline: {', '.join(worsened)}"
    toward = [t for t in improved if t not in newly]
    if toward:
        return "FAIL", (f"target(s) not met: {', '.join(unmet)}; progress toward {', '.join(toward)} but no target "
                        "reached (final_patch.diff keeps it for 'remoroo apply')")
    return "FAIL", f"target(s) not met: {', '.join(unmet)}"


def score(goal: Goal, metrics: dict[str, Scalar], baseline: dict[str, Scalar],
          noise: Noise | None = None) -> tuple[int, float]:
    """An ordering of states: more targets met first, then less normalized distance to the rest."""
    met = 0
    penalty = 0.0
    for target in goal.targets:
        if is_met(target, metrics, baseline, noise):
            met += 1
            continue
        value, threshold = metrics.get(target.metric), target.threshold(baseline)
        if not (is_number(value) and is_number(threshold)):
            # a missing value, or nan/inf/text where a number is wanted, is as bad as it gets
            penalty += 1.0 if target.direction == "satisfy" or not is_number(threshold) else 1e6
            if target.metric not in metrics:
                penalty += 1e6
            continue
        v, t = float(value), float(threshold)
        gap = {"minimize": v - t, "maximize": t - v}.get(target.direction, abs(v - t))
        penalty += max(gap, 0.0) / max(abs(t), 1e-12)
    return met, -penalty
