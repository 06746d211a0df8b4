"""One run, from goal to a terminal outcome.

goal → index (context slice) → plan → baseline → turns of
patch → run → measure → audit → decide → final verification → report.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from remoroo.errors import BrainError, EngineError, UserError
from remoroo.evidence.ledger import RunFolder, new_run_id
from remoroo.evidence.report import write_reports
from remoroo.exec.workspace import Workspace
from remoroo.loop.planning import make_plan
from remoroo.loop.preflight import prepare
from remoroo.loop.session import Ending, Session
from remoroo.loop.turn import GaveUp, run_turn, vetoed_rules
from remoroo.loop.verify import verify_final
from remoroo.measure.once import Environment
from remoroo.measure.shim import write_shim
from remoroo.model.budgets import Budget
from remoroo.model.config import RunConfig
from remoroo.model.decide import Noise, Outcome, evaluate, final_outcome
from remoroo.model.plan import required_metrics
from remoroo.model.spec import parse_goal
from remoroo.protocol.client import BrainClient, BudgetExceeded
from remoroo.protocol.wire import ContextSlice, FileView, JudgeRequest


@dataclass(frozen=True)
class RunResult:
    run_id: str
    run_dir: Path
    outcome: Outcome
    reason: str


def run(config: RunConfig, brain: BrainClient,
        observer: Callable[[dict[str, Any]], None] | None = None) -> RunResult:
    """Run the engine on ``config.repo``; always ends with a report."""
    goal = parse_goal(config.goal, config.metrics)
    if not config.repo.is_dir():
        raise UserError(f"The repository {config.repo} does not exist: pass the path of a folder.")
    folder = RunFolder.create(config.repo, new_run_id(), observer)
    folder.write_json("run.json", {"run_id": folder.run_id, "brain": brain.name,
                                   "config": config.model_dump(mode="json")})
    folder.append("run_started", run_id=folder.run_id, goal=goal.text, spec=goal.spec, brain=brain.name,
                  targets=[t.text for t in goal.targets], semantic=[s.text for s in goal.semantic],
                  metrics=required_metrics(goal))
    session: Session | None = None
    brain.recorder = _transcript(folder)
    try:
        workspace = Workspace.snapshot(config.repo, folder.root / "work")
        session = Session(
            config=config, user_goal=goal, goal=goal, brain=brain, folder=folder, workspace=workspace,
            budget=Budget(config.max_turns, config.timeout_s, config.stagnation_turns),
            env=_environment(config, folder), noise=Noise(rel_tol_timing=config.noise_rel_timing),
            start_commit=workspace.base,
        )
        if config.cluster:
            from remoroo.measure.remote import RemoteMeasurer

            session.remote = RemoteMeasurer(config.cluster, config.workers)
            folder.append("cluster", address=config.cluster, workers=session.remote.workers)
        ending = drive(session)
        _judge(session, ending)
    except BudgetExceeded as exc:
        folder.append("budget_exceeded", error=str(exc))
        ending = Ending("FAIL", f"budget: {exc}")
    except EngineError as exc:
        folder.append("engine_error", error=str(exc), kind=type(exc).__name__)
        ending = Ending("FAIL", f"engine error: {exc}")
    except KeyboardInterrupt:
        folder.append("cancelled")
        ending = Ending("FAIL", "cancelled by the user")
    finally:
        if session is not None and session.remote is not None:
            session.remote.close()
        shutil.rmtree(folder.root / "work-candidates", ignore_errors=True)
        if session is None or not config.keep_work:
            shutil.rmtree(folder.root / "work", ignore_errors=True)
    folder.append("run_finished", outcome=ending.outcome, reason=ending.reason,
                  turns=session.turns_run if session else 0, brain_calls=brain.calls, usage=brain.usage)
    write_reports(folder)
    return RunResult(folder.run_id, folder.root, ending.outcome, ending.reason)


def drive(session: Session) -> Ending:
    """The loop: plan, baseline, then turns until done, out of budget, or stagnant."""
    started = prepare(session)
    if started is not None:
        return started
    stop = f"turn budget ({session.config.max_turns}) used up"
    for turn in range(1, session.config.max_turns + 1):
        if _all_met(session):
            stop = ""
            break
        if session.budget.time_exhausted():
            stop = f"time budget ({session.config.timeout_s:g}s) used up"
            break
        if session.budget.stagnated():
            if session.replans >= session.config.max_replans:
                stop = f"stagnation: {session.budget.stagnant} turns without metric progress"
                break
            replanned = _replan(session)
            if isinstance(replanned, Ending):
                stop = replanned.reason
                break
        result = run_turn(session, turn)
        if isinstance(result, GaveUp):
            stop = f"the brain had nothing more to try: {result.reason}"
            break
        session.turns_run = turn
        _count_stagnation(session, result.verdict.progress, result.ran_ok)
    else:
        if _all_met(session):
            stop = ""
    return conclude(session, stop)


def _replan(session: Session) -> Ending | None:
    session.replans += 1
    reason = f"{session.budget.stagnant} turns without metric progress"
    session.folder.append("replan", replan=session.replans, reason=reason)
    planned = make_plan(session, replan=session.replans, reason=reason)
    if isinstance(planned, Ending):
        return planned
    session.budget.stagnant = 0
    return None


def _count_stagnation(session: Session, progress: bool, ran_ok: bool) -> None:
    if progress or (not session.ever_measured and ran_ok):
        session.budget.stagnant = 0
    else:
        session.budget.stagnant += 1


def _all_met(session: Session) -> bool:
    statuses = evaluate(session.goal, session.kept_metrics, session.baseline_metrics, session.noise)
    return bool(statuses) and all(s.met for s in statuses)


def conclude(session: Session, stop: str) -> Ending:
    ws = session.workspace
    changed = session.kept_commit != session.start_commit
    diff = ws.diff(session.start_commit, session.kept_commit) if changed else ""
    (session.folder.root / "final_patch.diff").write_text(diff, encoding="utf-8")
    outcome, reason = final_outcome(session.goal, session.baseline_metrics, session.kept_metrics, changed,
                                    session.noise)
    final_metrics = dict(session.kept_metrics)
    if changed and outcome != "FAIL":
        outcome, reason, final_metrics = verify_final(session, diff, outcome, reason)
    statuses = evaluate(session.goal, final_metrics, session.baseline_metrics, session.noise)
    session.folder.append("final", metrics=final_metrics, kept_turn=session.kept_turn, changed=changed,
                          stop=stop, targets=statuses, metric_names=session.metrics)
    vetoed = vetoed_rules(session.history)
    if outcome == "FAIL" and not changed and vetoed:
        reason = f"vetoed: {', '.join(vetoed)}; {reason}"
    if stop and outcome != "SUCCESS":
        reason = f"{reason} (stopped: {stop})"
    return Ending(outcome, reason)


def _judge(session: Session, ending: Ending) -> None:
    """Ask the brain's opinion for the report. Advisory: it never changes the outcome."""
    diff_path = session.folder.root / "final_patch.diff"
    diff = diff_path.read_text(encoding="utf-8") if diff_path.is_file() else ""
    request = JudgeRequest(
        goal=session.goal_view(), outcome=ending.outcome, reason=ending.reason, history=session.history,
        final_metrics=dict(session.kept_metrics),
        context=ContextSlice(files=[FileView(path="final_patch.diff", size=len(diff), content=diff[:20_000])],
                             budget_chars=20_000))
    try:
        response = session.brain.judge(request)
    except BrainError as exc:
        session.folder.append("judge", reasoning="", error=str(exc))
        return
    session.folder.append("judge", reasoning=response.reasoning)


def _transcript(folder: RunFolder) -> Callable[[str, str, str], None]:
    """Keep every brain exchange, as sent and as answered: evidence, and material for a scripted replay."""
    counter = iter(range(1, 1_000_000))

    def record(kind: str, request: str, response: str) -> None:
        n = next(counter)
        base = folder.root / "brain"
        base.mkdir(exist_ok=True)
        (base / f"{n:04d}-{kind}.request.json").write_text(request, encoding="utf-8")
        (base / f"{n:04d}-{kind}.response.json").write_text(response, encoding="utf-8")

    return record


def _environment(config: RunConfig, folder: RunFolder) -> Environment:
    shim = write_shim(folder.root / "shim")
    return Environment(base_env=dict(config.command_env), shim_dir=str(shim), grace_s=config.grace_s)
