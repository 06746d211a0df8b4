"""Findings and verdicts, and the loop that turns a crashing checker into a veto."""

from __future__ import annotations

import fnmatch
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


def overridden(verdict: AuditVerdict, overrides: tuple[str, ...]) -> AuditVerdict:
    """The verdict with the user's ``RULE:PATH`` allowances applied; each lifted hit stays in the evidence.

    ``RULE`` is a rule name or ``*``; ``PATH`` a path, folder or glob. A finding whose every hit is lifted
    passes, and says so; an audit error is never lifted.
    """
    if not overrides:
        return verdict
    rules = [o.partition(":") for o in overrides]
    findings: list[AuditFinding] = []
    for finding in verdict.findings:
        hits = finding.evidence.get("hits")
        if finding.passed or not isinstance(hits, list) or "error" in finding.evidence:
            findings.append(finding)
            continue

        def lifted(hit: dict[str, Any], rule: str = finding.rule) -> str | None:
            path = str(hit.get("file", ""))
            for name, _, pattern in rules:
                if name in (rule, "*") and (fnmatch.fnmatchcase(path, pattern) or path == pattern
                                            or path.startswith(pattern.rstrip("/") + "/")):
                    return f"{name}:{pattern}"
            return None

        kept = [h for h in hits if lifted(h) is None]
        gone = [{**h, "override": lifted(h)} for h in hits if lifted(h) is not None]
        if not gone:
            findings.append(finding)
        elif kept:
            again = vetoed(finding.rule, kept, finding.reason.split(" at ")[0])
            again.evidence["overridden"] = gone
            findings.append(again)
        else:
            findings.append(AuditFinding(
                rule=finding.rule, passed=True,
                reason=f"overridden by the user ({', '.join(sorted({str(g['override']) for g in gone}))}): "
                       f"{finding.reason}", evidence={"overridden": gone}))
    return AuditVerdict(passed=all(f.passed for f in findings), findings=findings)
