"""The forensic audit: a candidate's changes are checked before its metrics may count.

The harness lives in its own package, and code enforces it: a veto discards
the candidate and keeps the evidence (rule, file:line, offending code, the
values involved). Each checker returns an :class:`AuditFinding`; a checker
that crashes is recorded as an audit error and vetoes, never passes.

Before measuring, a trust boundary and the meaning of the added code:
``protected_paths`` and ``editable_area`` (``paths.py``: what may change at
all), ``metric_code`` (``symbols.py``: the metric's own code, symbol by
symbol), ``literal_metric`` and ``special_case`` (``literals.py``),
``tampering``, ``measurement_branching`` and ``metric_without_work``
(``semantic.py``, resolved through aliases). After measuring,
``behaviour_preservation`` (``preserve.py``: preserved outputs, and for speed
and memory goals the program's output) and ``provenance`` (``provenance.py``:
where each metric was emitted, which inputs were read). A user overrides one
rule for one path with ``--allow RULE:PATH``; the report records it.
"""

from __future__ import annotations

from typing import Callable

from remoroo.audit.boundary import check_editable, check_protected
from remoroo.audit.context import AuditContext
from remoroo.audit.findings import AuditFinding, AuditVerdict, overridden, run_checkers
from remoroo.audit.literals import check_literal_metrics, check_special_cases
from remoroo.audit.paths import churn_only, why_protected
from remoroo.audit.preserve import check_preserved
from remoroo.audit.semantic import check_branching, check_tampering, check_without_work
from remoroo.audit.symbols import check_metric_code
from remoroo.model.outcomes import AuditRule

CHECKERS: tuple[tuple[AuditRule, Callable[[AuditContext], AuditFinding]], ...] = (
    ("protected_paths", check_protected),
    ("editable_area", check_editable),
    ("metric_code", check_metric_code),
    ("literal_metric", check_literal_metrics),
    ("special_case", check_special_cases),
    ("tampering", check_tampering),
    ("measurement_branching", check_branching),
    ("metric_without_work", check_without_work),
)


def audit(ctx: AuditContext, overrides: tuple[str, ...] = ()) -> AuditVerdict:
    """Every pre-measurement rule, on one candidate; ``overrides`` are the user's ``RULE:PATH`` allowances."""
    return overridden(run_checkers(CHECKERS, ctx), overrides)


__all__ = ["AuditContext", "AuditFinding", "AuditVerdict", "audit", "check_preserved", "churn_only", "overridden",
           "why_protected"]
