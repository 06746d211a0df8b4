"""Behaviour preservation: the plan's preserved metrics must equal their baseline values."""

from __future__ import annotations

from collections.abc import Mapping

from remoroo.audit.findings import AuditFinding, passed
from remoroo.model.plan import Plan


def check_preserved(plan: Plan, baseline: Mapping[str, object], candidate: Mapping[str, object]) -> AuditFinding:
    changed = {m: (baseline.get(m), candidate.get(m)) for m in plan.preserve if candidate.get(m) != baseline.get(m)}
    if changed:
        listed = ", ".join(f"{m}: {b!r} at baseline, {c!r} now" for m, (b, c) in changed.items())
        return AuditFinding(rule="behaviour_preservation", passed=False,
                            reason=f"the program's checked output changed ({listed})",
                            evidence={"changed": {m: {"baseline": b, "candidate": c} for m, (b, c) in changed.items()}})
    return passed("behaviour_preservation", f"{len(plan.preserve)} preserved output(s) unchanged")
