"""Protected paths, and which changes are mere churn (docs, diagrams, prompts).

Protected by default: the engine's helper, metric artifacts the plan reads,
tests, evaluators, verifiers and benchmark harnesses, and data files. The
plan adds its own (for instance the file of a metric's canonical
calculation). Only the user can lift a default, with ``allow_paths``; a
brain cannot.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from remoroo.audit.findings import AuditFinding, passed, vetoed
from remoroo.model.plan import Plan

if TYPE_CHECKING:
    from remoroo.audit.context import AuditContext

ENGINE = ("remoroo.py", "remoroo/*", ".remoroo/*", "sitecustomize.py", "usercustomize.py", "*.pth")
TESTS = ("tests/*", "test/*", "*/tests/*", "test_*.py", "*/test_*.py", "*_test.py", "conftest.py", "*/conftest.py")
HARNESS = re.compile(r"^(eval|evaluate|evaluation|evaluator|verify|verifier|bench|benchmark|benchmarks|grade|grader|"
                     r"scoring|metrics?)(_[\w.]*)?(\.py|\.sh)?$")
DATA_SUFFIXES = {".csv", ".tsv", ".parquet", ".npy", ".npz", ".pkl", ".pickle", ".h5", ".hdf5", ".arrow",
                 ".feather", ".jsonl", ".xlsx", ".db", ".sqlite"}
DATA_DIRS = {"data", "datasets", "dataset", "fixtures", "testdata"}


def protected_patterns(plan: Plan) -> list[str]:
    patterns = list(ENGINE) + list(TESTS) + list(plan.protected_paths)
    patterns += [i.path for i in plan.instrumentation if i.source == "json_artifact" and i.path]
    return patterns


def why_protected(path: str, plan: Plan) -> str | None:
    """The reason ``path`` is protected, or None."""
    for pattern in protected_patterns(plan):
        if _matches(path, pattern):
            return f"matches {pattern!r}"
    pure = PurePosixPath(path)
    if any(HARNESS.match(part) for part in pure.parts):
        return "an evaluator, verifier or benchmark harness"
    if pure.suffix.lower() in DATA_SUFFIXES or any(part.lower() in DATA_DIRS for part in pure.parts[:-1]):
        return "a data file"
    return None


def check_protected(ctx: AuditContext) -> AuditFinding:
    hits: list[dict[str, Any]] = []
    for path in ctx.files:
        if any(_matches(path, allowed) for allowed in ctx.allowed):
            continue
        why = why_protected(path, ctx.plan)
        if why:
            hits.append({"file": path, "line": 1, "code": why, "change": _change(ctx, path)})
    if hits:
        listed = ", ".join(f"{h['file']} ({h['code']})" for h in hits)
        finding = vetoed("protected_paths", hits, "the patch touches a protected path")
        finding.reason = f"the patch touches {listed}"
        finding.evidence["files"] = [h["file"] for h in hits]
        return finding
    return passed("protected_paths", "no protected path touched")


def _change(ctx: AuditContext, path: str) -> str:
    before, after = ctx.before.get(path), ctx.after.get(path)
    if before is None:
        return "created"
    if after is None:
        return "deleted"
    return "modified"


def _matches(path: str, pattern: str) -> bool:
    pattern = pattern.strip().rstrip("/")
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(path, pattern)
    return path == pattern or path.startswith(pattern + "/")


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
