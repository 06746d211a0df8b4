"""Final verification: re-measure the final patch on a fresh copy of the snapshot.

Before a run may end SUCCESS or PARTIAL_SUCCESS, ``final_patch.diff`` is
applied to a new git worktree of the original snapshot and every metric is
measured again from scratch. If the numbers do not hold, the outcome is
downgraded and the reason says why.
"""

from __future__ import annotations

import time

from remoroo.loop.session import Session
from remoroo.model.decide import Outcome, final_outcome
from remoroo.model.goal import Scalar

_RANK = {"FAIL": 0, "PARTIAL_SUCCESS": 1, "SUCCESS": 2}


def verify_final(session: Session, diff: str, outcome: Outcome,
                 reason: str) -> tuple[Outcome, str, dict[str, Scalar]]:
    assert session.plan is not None
    ws = session.workspace
    checkout = ws.fresh_checkout(session.folder.root / "verify")
    try:
        applied, message = ws.apply_diff(checkout, session.instrumentation_diff + diff)
        if not applied:
            session.folder.append("verification", applied=False, message=message)
            return "FAIL", f"final verification: final_patch.diff does not apply to the snapshot ({message})", {}
        logs = session.folder.root / "verify-logs"
        base_s = session.baseline.duration_s if session.baseline else 0.0
        deadline = max(session.budget.deadline, time.monotonic() + 2 * base_s + 5.0)
        result = session.measure(checkout, logs, deadline)
    finally:
        ws.remove_checkout(checkout)
    verified, why = final_outcome(session.goal, session.baseline_metrics, result.metrics, True, session.noise)
    session.folder.append("verification", applied=True, metrics=result.metrics, missing=result.missing,
                          spread=result.spread, repeats=result.repeats,
                          outcome=verified, reason=why)
    if _RANK[verified] < _RANK[outcome]:
        return verified, f"final verification on a fresh copy did not hold ({why}); the turns claimed: {reason}", \
            dict(result.metrics)
    return outcome, reason, dict(result.metrics)
