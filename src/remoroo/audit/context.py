"""What the audit sees of one candidate: the plan, the goal, and each changed file before and after."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from remoroo.model.goal import Goal, Scalar, is_number
from remoroo.model.plan import Plan


@dataclass
class AuditContext:
    plan: Plan
    goal: Goal
    before: dict[str, str | None]
    after: dict[str, str | None]
    baseline: dict[str, Scalar] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()
    harness_text: str = ""

    @property
    def files(self) -> list[str]:
        return sorted(set(self.before) | set(self.after))

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
        """Numbers of the measured command lines and harness files (|x| > 2), and the command lines' words."""
        found: set[object] = set()
        text = " ".join(c.run for c in self.plan.commands)
        for token in re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])", text):
            found.add(float(token))
        found |= {t for t in re.findall(r"[\w.\-/]+", text) if not t.replace(".", "").isdigit()}
        try:
            tree = ast.parse(self.harness_text)
        except SyntaxError:
            tree = None
        if tree is not None:
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                        and not isinstance(node.value, bool):
                    found.add(float(node.value))
        return {v for v in found if not isinstance(v, float) or abs(v) > 2}
