"""What a run carries between stages: a frozen context, what preflight set up, and a small record of progress.

``RunContext`` never changes during a run. ``Setup`` is what planning and the
baseline established (replaced whole by a replan). ``Progress`` is the kept
state and the counters; only the loop in ``engine.py`` makes a new one, from
what a stage returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Protocol

from remoroo.evidence.ledger import RunFolder
from remoroo.exec.workspace import Workspace
from remoroo.loop.indexer import RunIndex
from remoroo.measure.once import Measurement
from remoroo.model.budgets import Budgets
from remoroo.model.config import RunConfig
from remoroo.model.decide import Intervals, Noise
from remoroo.model.goal import Goal, Scalar
from remoroo.model.goal_text import stated_targets
from remoroo.model.outcomes import AuditRule, Outcome
from remoroo.model.plan import Plan, required_metrics
from remoroo.model.spec import render_target
from remoroo.model.witness import Witness
from remoroo.protocol.client import BrainClient
from remoroo.protocol.wire import GoalView, StatedTarget, StateSummary


class Measurer(Protocol):
    """Runs a plan's commands on a tree and reads its metrics (``loop/measurer.py``; fakes in tests)."""

    def measure(self, plan: Plan, metrics: list[str], tree: Path, logs: Path, *, repeats: int, deadline: float,
                first: Measurement | None = None, away: bool = False, cpus: tuple[int, ...] = ()) -> Measurement:
        """``cpus``: pin every process of the measurement to these (``measure/affinity.py``; empty: any)."""
        ...

    @property
    def remote_workers(self) -> int:
        """Workers of a cluster that candidates may be measured on (0: none)."""
        ...

    def measures_away(self, metrics: list[str]) -> bool: ...

    def protect_inputs(self, inputs: list[str]) -> None:
        """Mount these files (what the baseline read) read-only in every later measurement."""
        ...


@dataclass(frozen=True)
class Ending:
    """Why the loop stops early, with the outcome that follows."""

    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class RunContext:
    """Everything a stage may use and nothing it may change: built once per run."""

    config: RunConfig
    user_goal: Goal
    brain: BrainClient
    folder: RunFolder
    workspace: Workspace
    measurer: Measurer
    index: RunIndex
    budgets: Budgets
    confirm: Callable[[Plan], bool] | None = None  # asked before a plan's commands first run (the CLI's prompt)

    @property
    def work_root(self) -> Path:
        return self.workspace.root

    def goal_view(self, goal: Goal | None = None) -> GoalView:
        """The goal as the brain sees it: the user's words, with the plan's resolved targets once there is one."""
        effective = goal or self.user_goal
        return GoalView(text=self.user_goal.text, spec=self.user_goal.spec,
                        targets=[render_target(t) for t in effective.targets],
                        semantic=[s.text for s in self.user_goal.semantic],
                        stated=[StatedTarget(phrase=s.phrase, spec=s.clause)
                                for s in stated_targets(self.user_goal.text)])


@dataclass(frozen=True)
class Planned:
    """A validated plan, the goal it resolves to, and the protected harness text the audit compares against."""

    plan: Plan
    goal: Goal
    harness_text: str = ""
    pinned: tuple[str, ...] = ()  # files the brain asked for while planning

    @property
    def metrics(self) -> list[str]:
        names = required_metrics(self.goal)
        return names + [m for m in self.plan.preserve if m not in names]


@dataclass(frozen=True)
class Setup(Planned):
    """A plan with its measured baseline: the reference every candidate is judged against."""

    baseline: Measurement = field(default_factory=Measurement)
    noise: Noise = field(default_factory=Noise)
    repeats: int = 1
    start_commit: str = ""
    instrumentation_diff: str = ""

    @property
    def baseline_metrics(self) -> dict[str, Scalar]:
        return dict(self.baseline.metrics)

    def with_plan(self, planned: Planned) -> Setup:
        return replace(self, plan=planned.plan, goal=planned.goal, harness_text=planned.harness_text,
                       pinned=planned.pinned)


@dataclass(frozen=True)
class Kept:
    """The state every candidate starts from."""

    commit: str
    metrics: dict[str, Scalar]
    runs: bool
    turn: int = 0
    vs_base: Intervals = field(default_factory=dict)  # noisy metrics: this state's ratio to the baseline


@dataclass(frozen=True)
class Progress:
    """The loop's record of progress; a stage's result makes the next one."""

    kept: Kept
    history: tuple[StateSummary, ...] = ()
    log_tails: dict[str, str] = field(default_factory=dict)
    witnesses: tuple[Witness, ...] = ()
    turns_run: int = 0
    replans: int = 0
    stagnant: int = 0
    ever_measured: bool = False
    vetoed: frozenset[AuditRule] = frozenset()
    tests: int = 0  # side-by-side comparisons so far: each spends its share of the run's error rate
    pinned: tuple[str, ...] = ()  # files the brain asked for: every later request carries them, read afresh
