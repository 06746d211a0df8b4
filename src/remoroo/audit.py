"""The audit: checks a candidate's changes before its metrics may count.

Each checker returns an :class:`AuditFinding` (passed, reason, evidence). A
checker that crashes is recorded as an audit error and vetoes the candidate:
it never passes silently. This first rule set enforces the protected paths:
metric artifacts, the paths the plan declares protected, and the engine's
own helper.
"""

from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath
from typing import Callable

from pydantic import BaseModel, Field

from remoroo.plan import Plan

DEFAULT_PROTECTED = ("remoroo.py", "remoroo/*", ".remoroo/*")


class AuditFinding(BaseModel):
    rule: str
    passed: bool
    reason: str
    evidence: dict[str, object] = Field(default_factory=dict)


class AuditVerdict(BaseModel):
    passed: bool
    findings: list[AuditFinding]

    @property
    def vetoes(self) -> list[AuditFinding]:
        return [f for f in self.findings if not f.passed]


def protected_patterns(plan: Plan) -> list[str]:
    patterns = list(DEFAULT_PROTECTED) + list(plan.protected_paths)
    patterns += [i.path for i in plan.instrumentation if i.source == "json_artifact" and i.path]
    return patterns


def check_protected(plan: Plan, files: list[str]) -> AuditFinding:
    patterns = protected_patterns(plan)
    hits = {f: p for f in files for p in patterns if _matches(f, p)}
    if hits:
        listed = ", ".join(f"{f} (protected by {p!r})" for f, p in hits.items())
        return AuditFinding(rule="protected_paths", passed=False, reason=f"the patch touches {listed}",
                            evidence={"files": sorted(hits), "patterns": sorted(set(hits.values()))})
    return AuditFinding(rule="protected_paths", passed=True, reason="no protected path touched")


def _matches(path: str, pattern: str) -> bool:
    pattern = pattern.strip().rstrip("/")
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(path, pattern)
    return path == pattern or path.startswith(pattern + "/")


Checker = Callable[[Plan, list[str]], AuditFinding]
CHECKERS: tuple[tuple[str, Checker], ...] = (("protected_paths", check_protected),)


def audit(plan: Plan, files: list[str]) -> AuditVerdict:
    findings: list[AuditFinding] = []
    for rule, checker in CHECKERS:
        try:
            findings.append(checker(plan, files))
        except Exception as exc:  # noqa: BLE001 - a crashing checker is a veto, never a pass
            findings.append(AuditFinding(rule=rule, passed=False, reason=f"audit error: {exc!r}",
                                         evidence={"error": repr(exc)}))
    return AuditVerdict(passed=all(f.passed for f in findings), findings=findings)


CHURN_SUFFIXES = (".md", ".rst", ".adoc", ".prompt", ".mmd")
CHURN_DIRS = ("docs", "doc", "prompts")
CHURN_NAMES = ("readme", "changelog", "changes", "system_diagram")


def churn_only(files: list[str]) -> bool:
    """True when every file is documentation, a diagram or a prompt."""
    def is_churn(path: str) -> bool:
        pure = PurePosixPath(path)
        return (pure.suffix.lower() in CHURN_SUFFIXES or pure.name.lower().startswith(CHURN_NAMES)
                or (bool(pure.parts) and pure.parts[0].lower() in CHURN_DIRS))
    return bool(files) and all(is_churn(f) for f in files)
