"""The forensic audit: a candidate's changes are checked before its metrics may count.

The harness lives in its own package, and code enforces it: a veto discards
the candidate and keeps the evidence (rule, file:line, offending code, the
values involved). Each checker returns an :class:`AuditFinding`; a checker
that crashes is recorded as an audit error and vetoes, never passes.

Rules: ``protected_paths`` (metric artifacts, evaluators, tests, data, the
engine's helper, and what the plan declares), ``literal_metric`` (constants
written into a metric), ``special_case`` (a hard-coded answer for a benchmark
input), ``tampering`` (patched clocks, reading the engine's environment,
touching the harness), and after measuring ``behaviour_preservation`` (the
plan's preserved outputs must equal the baseline's).
"""

from __future__ import annotations

from typing import Callable

from remoroo.audit.context import AuditContext
from remoroo.audit.findings import AuditFinding, AuditVerdict, run_checkers
from remoroo.audit.literals import check_literal_metrics, check_special_cases
from remoroo.audit.paths import check_protected, churn_only, protected_patterns
from remoroo.audit.preserve import check_preserved
from remoroo.audit.tamper import check_tampering
from remoroo.model.outcomes import AuditRule

CHECKERS: tuple[tuple[AuditRule, Callable[[AuditContext], AuditFinding]], ...] = (
    ("protected_paths", check_protected),
    ("literal_metric", check_literal_metrics),
    ("special_case", check_special_cases),
    ("tampering", check_tampering),
)


def audit(ctx: AuditContext) -> AuditVerdict:
    """Every pre-measurement rule, on one candidate."""
    return run_checkers(CHECKERS, ctx)


__all__ = ["AuditContext", "AuditFinding", "AuditVerdict", "audit", "check_preserved", "churn_only",
           "protected_patterns"]
