"""What the audit sees of one candidate: the plan, the goal, each changed file before and after, and the baseline.

The baseline contributes the inputs its commands read (observed by the
helper's audit hook) and its metric values; the user contributes the editable
globs and the overrides.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Callable

from remoroo.audit.paths import _matches, is_test, why_protected
from remoroo.model.goal import Goal, Scalar, is_number
from remoroo.model.plan import Plan

_TEST_GOAL = re.compile(r"\b(add|write|create|cover|more|new)\b[^.]*\btests?\b|\bcoverage\b|\btest (suite|case)s?\b",
                        re.IGNORECASE)


def is_test_goal(goal: Goal) -> bool:
    """A goal about the tests themselves: the trust boundary turns around (tests editable, code protected)."""
    return "coverage" in goal.metric_names or bool(_TEST_GOAL.search(goal.text))


@dataclass
class AuditContext:
    plan: Plan
    goal: Goal
    before: dict[str, str | None]
    after: dict[str, str | None]
    baseline: dict[str, Scalar] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()
    harness_text: str = ""
    inputs: frozenset[str] = frozenset()
    editable: tuple[str, ...] = ()
    instrumentation: bool = False
    exists_after: Callable[[str], bool] | None = None
    read_before: Callable[[str], str | None] | None = None
    memo: dict[str, object] = field(default_factory=dict, repr=False)  # what the checkers share (parsed trees)

    @property
    def files(self) -> list[str]:
        return sorted(set(self.before) | set(self.after))

    def change(self, path: str) -> str:
        before, after = self.before.get(path), self.after.get(path)
        if before is None:
            return "created"
        if after is None:
            return "deleted"
        return "modified"

    @property
    def test_goal(self) -> bool:
        """A goal about tests themselves ("add a test for X", coverage): tests the plan names become editable."""
        return is_test_goal(self.goal)

    def intent_files(self) -> list[str]:
        named: list[str] = []
        for intent in self.plan.patch_intents:
            named += [p.split(":", 1)[0] for p in intent.files] + [p.split(":", 1)[0] for p in intent.creates]
        return [posixpath.normpath(p) for p in named if p]

    def editable_paths(self) -> list[str]:
        return self.intent_files() + list(self.editable)

    def editable_symbols(self, path: str) -> set[str] | None:
        """The symbols of ``path`` the intents name (``file.py:func``); None when they name the whole file."""
        symbols: set[str] = set()
        whole = False
        for intent in self.plan.patch_intents:
            for named in intent.files:
                file, _, symbol = named.partition(":")
                if posixpath.normpath(file) != path:
                    continue
                if symbol:
                    symbols.add(symbol)
                else:
                    whole = True
        return None if whole or not symbols else symbols

    def why_protected(self, path: str) -> str | None:
        tests = frozenset(self.intent_files()) if self.test_goal else frozenset()
        inputs = frozenset(p for p in self.inputs if not any(_matches(p, glob) for glob in self.editable))
        why = why_protected(path, self.plan, inputs, tests)  # only the user makes an input editable
        if why is None and path in self.command_files() and not path.endswith(".py"):
            why = "a script the measured commands run"
        if why == "a test" and self.test_goal and self.change(path) != "modified" and is_test(path):
            return None
        return why

    def command_files(self) -> set[str]:
        """Repository paths named on the plan's command lines (``-m pkg.mod`` as pkg/mod.py)."""
        found: set[str] = set()
        for command in self.plan.commands:
            tokens = re.findall(r"[^\s;|&<>()'\"=]+", command.run)
            runners = {PurePosixPath(t).name for t in tokens}
            if runners & {"make", "gmake"}:
                found |= {posixpath.normpath(posixpath.join(command.cwd, n)) for n in ("Makefile", "makefile",
                                                                                        "GNUmakefile")}
            if runners & {"npm", "yarn", "pnpm", "npx"}:
                found.add(posixpath.normpath(posixpath.join(command.cwd, "package.json")))
            for i, token in enumerate(tokens):
                found.add(posixpath.normpath(posixpath.join(command.cwd, token)))
                if i and tokens[i - 1] == "-m":
                    module = token.replace(".", "/")
                    found |= {posixpath.normpath(posixpath.join(command.cwd, f"{module}.py")),
                              posixpath.normpath(posixpath.join(command.cwd, module, "__main__.py"))}
        return found

    def metric_names(self) -> set[str]:
        names = set(self.goal.metric_names)
        names |= {i.name for i in self.plan.instrumentation if i.name}
        names |= {i.key.split(".")[-1] for i in self.plan.instrumentation if i.key}
        return {n for n in names if n}

    def target_values(self) -> set[float]:
        """Thresholds of the goal's numeric targets: the values a cheat would hard-code."""
        values: set[float] = set()
        for target in self.goal.targets:
            threshold = target.threshold(self.baseline)
            if is_number(threshold):
                values.add(float(threshold))
        return values

    def benchmark_inputs(self) -> set[object]:
        """Numbers of the measured command lines and protected harness files (|x| > 2): what a cheat keys on.

        Words are not inputs: a lookup table keyed by a word of the command line is ordinary code.
        """
        found: set[object] = set()
        text = " ".join(c.run for c in self.plan.commands)
        for token in re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])", text):
            found.add(float(token))
        try:
            tree = ast.parse(self.harness_text)
        except SyntaxError:
            tree = None
        if tree is not None:
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                        and not isinstance(node.value, bool):
                    found.add(float(node.value))
        found = {v for v in found if not isinstance(v, float) or abs(v) > 2}
        return found | set(self.inputs) | {PurePosixPath(p).name for p in self.inputs}  # the files it reads
