"""Tests that count must test something: new tests are run against a deliberately broken copy of the code.

When the goal is about tests (add tests, raise coverage), a new test only counts if it fails once the code it
tests is broken. ``mutate`` makes that broken copy: every function of the modules the new tests import
returns None (a docstring stays, so the module still imports). A test that asserts nothing, always passes,
skips, or executes code without checking it still passes against the mutant: the candidate is vetoed with
``hollow_tests``.
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Mapping, Sequence

from remoroo.audit.findings import AuditFinding, passed
from remoroo.audit.paths import is_test


def mutate(source: str) -> str:
    """The module with every function body replaced by ``return None``."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            keep = node.body[:1] if node.body and isinstance(node.body[0], ast.Expr) and isinstance(
                node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str) else []
            node.body = [*keep, ast.Return(value=ast.Constant(value=None))]
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def tested_modules(tests: Mapping[str, str], exists: Sequence[str]) -> list[str]:
    """The repository's non-test Python files that the new tests import (``import calc``, ``from pkg.m import f``)."""
    found: list[str] = []
    known = set(exists)
    for path, text in tests.items():
        folder = posixpath.dirname(path)
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        names: list[str] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            base = name.replace(".", "/")
            for candidate in (f"{base}.py", f"{base}/__init__.py", posixpath.join(folder, f"{base}.py"),
                              f"src/{base}.py", f"src/{base}/__init__.py"):
                candidate = posixpath.normpath(candidate)
                if candidate in known and not is_test(candidate) and candidate not in found:
                    found.append(candidate)
    return found


def check_new_tests(new_cases: Mapping[str, str], against_mutant: Mapping[str, str], modules: Sequence[str],
                    exit_ok: bool | None = None) -> AuditFinding:
    """Each new test case must fail against the mutant (``against_mutant``: case -> status there)."""
    if not modules:
        return passed("hollow_tests", "the new tests import no code of the repository to break")
    if against_mutant:
        hollow = sorted(c for c, status in against_mutant.items() if c in new_cases and status in ("passed",
                                                                                                  "skipped"))
        if hollow:
            return AuditFinding(
                rule="hollow_tests", passed=False,
                reason=f"new tests still pass with {', '.join(modules)} broken (every function returns None), so "
                       f"they check nothing: {', '.join(hollow[:5])}",
                evidence={"hits": [{"file": c.split("::")[0].replace(".", "/") + ".py", "line": 1, "code": c}
                                   for c in hollow], "mutated": list(modules)})
        return passed("hollow_tests", f"{len(new_cases)} new test(s) fail against a broken copy of the code")
    if exit_ok:
        return AuditFinding(rule="hollow_tests", passed=False,
                            reason=f"the new tests pass with {', '.join(modules)} broken (every function returns "
                                   "None): they check nothing",
                            evidence={"hits": [{"file": m, "line": 1, "code": "mutated"} for m in modules]})
    return passed("hollow_tests", "the new tests fail against a broken copy of the code")
