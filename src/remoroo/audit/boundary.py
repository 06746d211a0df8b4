"""The trust boundary applied to one candidate: protected files untouched, every change inside the editable area."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from remoroo.audit.context import AuditContext
from remoroo.audit.findings import AuditFinding, passed, vetoed
from remoroo.audit.paths import _matches, churn_only, is_code, is_config, is_test
from remoroo.model.outcomes import AuditRule


def check_protected(ctx: AuditContext) -> AuditFinding:
    """No existing protected file is modified or deleted, and no new file takes a protected name."""
    hits: list[dict[str, Any]] = []
    for path in ctx.files:
        change = ctx.change(path)
        why = ctx.why_protected(path)
        if why and change == "created" and is_test(path) and not is_config(path) and why == "a test":
            continue  # a new test beside a fix: it runs, but never counts (the measured set is frozen)
        if why:
            hits.append({"file": path, "line": 1, "code": why, "change": change})
    return _finding("protected_paths", hits, "the patch touches", "no protected path touched")


def check_editable(ctx: AuditContext) -> AuditFinding:
    """Every change stays inside the editable area the plan and the user declared."""
    hits: list[dict[str, Any]] = []
    for path in ctx.files:
        if ctx.why_protected(path):
            continue  # reported by protected_paths
        why = why_outside(path, ctx)
        if why:
            hits.append({"file": path, "line": 1, "code": why, "change": ctx.change(path)})
    return _finding("editable_area", hits, "the patch changes", "every change is inside the editable area")


def why_outside(path: str, ctx: AuditContext) -> str | None:
    """Why a change to ``path`` is outside the editable area, or None."""
    change = ctx.change(path)
    declared = ctx.editable_paths()
    if any(_matches(path, pattern) for pattern in declared) or churn_only([path]):
        return None  # documentation is churn, never progress, but not a cheat
    if change == "created":
        if is_test(path):
            return None
        if not is_code(path):
            return "a new non-code file that no patch intent names (a data or answer file)"
        folders = {str(PurePosixPath(p).parent) for p in declared if not any(ch in p for ch in "*?[")}
        if not declared or any(_within(path, folder) for folder in folders):
            return None
        return "a new code file outside the folders of the editable files"
    if not declared:
        return None if is_code(path) else "a non-code file (data, configuration): only code is editable by default"
    return "a file no patch intent names (widen the area with --editable GLOB)"


def _within(path: str, folder: str) -> bool:
    return folder in ("", ".") or path.startswith(folder.rstrip("/") + "/")


def _finding(rule: AuditRule, hits: list[dict[str, Any]], what: str, ok: str) -> AuditFinding:
    if not hits:
        return passed(rule, ok)
    listed = ", ".join(f"{h['file']} ({h['change']}: {h['code']})" for h in hits)
    finding = vetoed(rule, hits, f"{what} a protected path")
    finding.reason = f"{what} {listed}"
    finding.evidence["files"] = [h["file"] for h in hits]
    return finding


