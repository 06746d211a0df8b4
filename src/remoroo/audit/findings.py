"""Findings and verdicts, and the loop that turns a crashing checker into a veto."""

from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel, Field

from remoroo.model.outcomes import AuditRule


class AuditFinding(BaseModel):
    rule: AuditRule
    passed: bool
    reason: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class AuditVerdict(BaseModel):
    passed: bool
    findings: list[AuditFinding]

    @property
    def vetoes(self) -> list[AuditFinding]:
        return [f for f in self.findings if not f.passed]


def passed(rule: AuditRule, reason: str) -> AuditFinding:
    return AuditFinding(rule=rule, passed=True, reason=reason)


def vetoed(rule: AuditRule, hits: list[dict[str, Any]], what: str) -> AuditFinding:
    first = hits[0]
    where = f"{first.get('file')}:{first.get('line')}" if first.get("file") else ""
    reason = f"{what} at {where}: {first.get('code', '')}".strip() if where else what
    if len(hits) > 1:
        reason += f" (and {len(hits) - 1} more)"
    return AuditFinding(rule=rule, passed=False, reason=reason, evidence={"hits": hits})


def run_checkers(checkers: tuple[tuple[AuditRule, Callable[[Any], AuditFinding]], ...], ctx: Any) -> AuditVerdict:
    findings: list[AuditFinding] = []
    for rule, checker in checkers:
        try:
            findings.append(checker(ctx))
        except Exception as exc:  # noqa: BLE001 - a crashing checker is a veto, never a pass
            findings.append(AuditFinding(rule=rule, passed=False, reason=f"audit error: {exc!r}",
                                         evidence={"error": repr(exc)}))
    return AuditVerdict(passed=all(f.passed for f in findings), findings=findings)
