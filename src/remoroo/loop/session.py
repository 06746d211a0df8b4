"""The state one run carries from stage to stage."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from remoroo.evidence.ledger import RunFolder
from remoroo.exec.workspace import Workspace
from remoroo.index import RepoIndex
from remoroo.measure.once import Environment, Measurement
from remoroo.measure.remote import RemoteMeasurer
from remoroo.model.budgets import Budget
from remoroo.model.config import RunConfig
from remoroo.model.decide import Noise, Outcome
from remoroo.model.goal import Goal, Scalar
from remoroo.model.plan import Plan, required_metrics
from remoroo.model.spec import render_target
from remoroo.model.witness import Witness
from remoroo.protocol.client import BrainClient
from remoroo.protocol.wire import GoalView, StateSummary


def _summary(w: Witness) -> str:
    where = f" at {w.where}" if w.where else ""
    what = w.exception or (f"{w.target}: got {w.actual}" if w.target else str(w.actual))
    return f"{w.kind}{where}: {what}"


@dataclass(frozen=True)
class Ending:
    """Why the loop stops early, with the outcome that follows."""

    outcome: Outcome
    reason: str


@dataclass
class Session:
    config: RunConfig
    user_goal: Goal
    goal: Goal
    brain: BrainClient
    folder: RunFolder
    workspace: Workspace
    budget: Budget
    env: Environment
    noise: Noise
    plan: Plan | None = None
    replans: int = 0
    baseline: Measurement | None = None
    start_commit: str = ""
    instrumentation_diff: str = ""
    kept_commit: str = ""
    kept_metrics: dict[str, Scalar] = field(default_factory=dict)
    kept_runs: bool = False
    kept_turn: int = 0
    ever_measured: bool = False
    history: list[StateSummary] = field(default_factory=list)
    log_tails: dict[str, str] = field(default_factory=dict)
    turns_run: int = 0
    harness_text: str | None = None
    repeats: int = 1
    witnesses: list[Witness] = field(default_factory=list)
    index: RepoIndex | None = None
    diagram_sha: str = ""
    remote: RemoteMeasurer | None = None

    def repo_index(self) -> RepoIndex:
        """The work tree's index, refreshed incrementally (kept in the run folder).

        The run's ``system_diagram.md`` is regenerated from it whenever the code changed, never
        written by a brain. The first refresh starts from ``REPO/.remoroo/repo_index.json`` when
        ``remoroo index`` made one: files with the same content are not parsed again.
        """
        import hashlib

        from remoroo.index import load_index, refresh, system_diagram

        previous = self.index or load_index(self.folder.root / "repo_index.json") or load_index(
            self.config.repo / ".remoroo" / "repo_index.json")
        index, reparsed = refresh(self.work_root, self.folder.root / "repo_index.json", previous)
        self.index = index
        unchanged = not reparsed and previous is not None and index.files.keys() == previous.files.keys()
        if unchanged and self.diagram_sha:
            return index
        text = system_diagram(index)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest != self.diagram_sha:
            (self.folder.root / "system_diagram.md").write_text(text, encoding="utf-8")
            self.folder.append("diagram", file="system_diagram.md", sha256=digest[:16], reparsed=reparsed,
                               regenerated=bool(self.diagram_sha))
            self.diagram_sha = digest
        return index

    def witness(self, measurement: Measurement, turn: int, tree: Path | None = None) -> None:
        """Collect and write the witnesses of a measured state; they go to the brain on the next call."""
        from remoroo.measure.witness import collect, write

        assert self.plan is not None
        found = collect(measurement, self.plan, self.goal, self.baseline_metrics, self.noise, tree or self.work_root)
        paths = write(found, self.folder.turn_dir(turn) / "witnesses", self.config.repo)
        self.witnesses = found
        if found:
            self.folder.append("witnesses", turn=turn, paths=[f"turns/{turn}/{p}" for p in paths],
                               summary=[_summary(w) for w in found])

    def measure(self, tree: Path, logs: Path, deadline: float | None = None, away: bool = False) -> Measurement:
        """Measure ``tree`` the way this run measures: the plan's commands, repeated for noisy metrics."""
        from remoroo.measure.once import measure
        from remoroo.measure.repeat import measure_repeated

        assert self.plan is not None
        plan, until = self.plan, deadline if deadline is not None else self.budget.deadline
        if away and self.measures_away:
            assert self.remote is not None
            started = time.monotonic()
            result, worker = self.remote.measure(tree, logs, plan, self.metrics, self.repeats, until,
                                                 self.env.grace_s)
            self.folder.append("measured_away", logs=logs.relative_to(self.folder.root).as_posix(), worker=worker,
                               seconds=round(time.monotonic() - started, 3))
            return result
        return measure_repeated(lambda where: measure(plan, self.metrics, tree, where, self.env, until),
                                logs, self.repeats, until)

    @property
    def measures_away(self) -> bool:
        """Candidates go to the cluster when there is one and no metric depends on the machine."""
        from remoroo.measure.remote import can_measure_away

        return self.remote is not None and can_measure_away(self.metrics)

    @property
    def baseline_metrics(self) -> dict[str, Scalar]:
        return dict(self.baseline.metrics) if self.baseline else {}

    @property
    def metrics(self) -> list[str]:
        names = required_metrics(self.goal)
        preserved = self.plan.preserve if self.plan else []
        return names + [m for m in preserved if m not in names]

    def goal_view(self) -> GoalView:
        return GoalView(
            text=self.user_goal.text, spec=self.user_goal.spec,
            targets=[render_target(t) for t in self.goal.targets],
            semantic=[s.text for s in self.user_goal.semantic],
        )

    def note_measurement(self, measurement: Measurement, tree: Path | None = None) -> None:
        if any(m in measurement.metrics for m in self.goal.metric_names):
            self.ever_measured = True
        root = str(tree or self.workspace.root) + "/"
        for run in measurement.commands:  # the brain sees repository-relative paths only
            self.log_tails[f"{run.name}.stdout"] = run.stdout_tail.replace(root, "")
            self.log_tails[f"{run.name}.stderr"] = run.stderr_tail.replace(root, "")

    @property
    def work_root(self) -> Path:
        return self.workspace.root
