"""Tampering with measurement: patched clocks, the engine's environment, the engine itself."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from remoroo.audit.astdiff import added_nodes, constant
from remoroo.audit.findings import AuditFinding, passed, vetoed

if TYPE_CHECKING:
    from remoroo.audit.context import AuditContext

CLOCK_MODULES = {"time", "datetime", "timeit", "perf_counter", "monotonic"}


def check_tampering(ctx: AuditContext) -> AuditFinding:
    hits: list[dict[str, Any]] = []
    for added in added_nodes(ctx):
        why = _tamper(added.node)
        if why:
            hits.append(added.hit(why=why))
    if hits:
        return vetoed("tampering", hits, f"the patch tampers with measurement ({hits[0]['why']})")
    return passed("tampering", "no clock, harness or engine environment is touched")


def _tamper(node: ast.AST) -> str | None:
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and ast.unparse(target.value).split(".")[0] in CLOCK_MODULES:
                return f"reassigns {ast.unparse(target)}"
    if isinstance(node, ast.Call):
        func = ast.unparse(node.func)
        first = node.args[0] if node.args else None
        if func == "setattr" and first is not None and ast.unparse(first).split(".")[0] in CLOCK_MODULES:
            return f"setattr on {ast.unparse(first)}"
        text = constant(first)
        if func.split(".")[-1] in ("patch", "setattr") and isinstance(text, str) and \
                text.split(".")[0] in CLOCK_MODULES:
            return f"patches {text}"
    text = constant(node)
    if isinstance(text, str) and text.upper().startswith("REMOROO"):
        return f"reads the engine's environment ({text!r})"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        for module in modules:
            if module.startswith("remoroo.") and module != "remoroo.emit":
                return f"imports the engine ({module})"
    return None
