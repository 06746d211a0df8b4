"""Final verification: re-measure the final patch on a fresh copy of the snapshot.

Before a run may end SUCCESS or PARTIAL_SUCCESS, ``final_patch.diff`` is
applied to a new git worktree of the original snapshot and every metric is
measured again from scratch. If the numbers do not hold, the outcome is
downgraded and the reason says why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from remoroo.evidence.events import Verification
from remoroo.loop.observe import frozen_tests, measured_findings
from remoroo.loop.sidebyside import measure_side_by_side, noisy_metrics
from remoroo.loop.state import RunContext, Setup
from remoroo.model.decide import Intervals, final_outcome
from remoroo.model.goal import Scalar
from remoroo.model.outcomes import RANK, Outcome


@dataclass(frozen=True)
class Verified:
    outcome: Outcome
    reason: str
    metrics: dict[str, Scalar] = field(default_factory=dict)
    vs_base: Intervals = field(default_factory=dict)


def verify_final(ctx: RunContext, setup: Setup, diff: str, claimed: Outcome, reason: str) -> Verified:
    ws = ctx.workspace
    checkout = ws.fresh_checkout(ctx.folder.root / "verify")
    original: Path | None = None
    vs_base: Intervals = {}
    try:
        applied, message = ws.apply_diff(checkout, setup.instrumentation_diff)  # as 'remoroo apply' does: in turn
        if applied:
            applied, message = ws.apply_diff(checkout, diff)
        if not applied:
            ctx.folder.append(Verification(applied=False, message=message))
            return Verified("FAIL", f"final verification: final_patch.diff does not apply to the snapshot ({message})")
        if noisy_metrics(setup):  # timings: the baseline again, side by side with the final state
            original = ws.fresh_checkout(ctx.folder.root / "verify-baseline")
            ws.apply_diff(original, setup.instrumentation_diff)
            paired = measure_side_by_side(ctx, setup, original, checkout, ctx.folder.root / "verify-logs", test=1)
            result, vs_base = paired.new, dict(paired.intervals)
        else:
            deadline = max(ctx.budgets.deadline, time.monotonic() + 2 * setup.baseline.duration_s + 5.0)
            result = ctx.measurer.measure(setup.plan, setup.metrics, checkout, ctx.folder.root / "verify-logs",
                                          repeats=setup.repeats, deadline=deadline)
        result = frozen_tests(setup, result)
    finally:
        ws.remove_checkout(checkout)
        if original is not None:
            ws.remove_checkout(original)
    verified, why = final_outcome(setup.goal, setup.baseline_metrics, result.metrics, True, setup.noise, vs_base)
    broken = [f for f in measured_findings(ctx, setup, result) if not f.passed]
    if broken:  # the behaviour checks, again in a fresh sandbox
        ctx.folder.write_json("audit/verification.json", broken)
        verified, why = "FAIL", "; ".join(f"{f.rule}: {f.reason}" for f in broken)
    ctx.folder.append(Verification(applied=True, metrics=dict(result.metrics), missing=result.missing,
                                   spread=result.spread, repeats=result.repeats, outcome=verified, reason=why))
    if RANK[verified] < RANK[claimed]:
        return Verified(verified, f"final verification on a fresh copy did not hold ({why}); the turns claimed: "
                                  f"{reason}", dict(result.metrics), vs_base)
    return Verified(claimed, reason, dict(result.metrics), vs_base)
