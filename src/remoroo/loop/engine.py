"""One run, from goal to a terminal outcome.

goal → index (context slice) → plan → baseline → turns of
patch → audit the change → run and measure → audit the measurement → decide
→ final verification → report.

``run`` builds the frozen :class:`RunContext`, ``drive`` is the loop over typed
stages, and only ``drive`` turns a stage's result into the next ``Progress``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from remoroo.errors import BudgetExceeded, EngineError, UserError
from remoroo.evidence.events import (
    BudgetExceededEvent,
    Cancelled,
    ClusterJoined,
    EngineFailed,
    Event,
    Final,
    Replanned,
    RunFinished,
    RunStarted,
)
from remoroo.evidence.ledger import RunFolder, new_run_id
from remoroo.evidence.report import write_reports
from remoroo.exec.sandbox import Limits, Sandbox, sandbox_problem, venvs_of
from remoroo.exec.workspace import Workspace
from remoroo.loop.indexer import RunIndex
from remoroo.loop.judge import ask_judge
from remoroo.loop.measurer import PlanMeasurer
from remoroo.loop.planning import PlanAsk, make_plan
from remoroo.loop.preflight import prepare
from remoroo.loop.state import Ending, Progress, RunContext, Setup
from remoroo.loop.turn import GaveUp, TurnResult, run_turn
from remoroo.loop.verify import verify_final
from remoroo.measure.commands import Environment
from remoroo.measure.shim import write_shim
from remoroo.model.config import RunConfig
from remoroo.model.decide import evaluate, final_outcome
from remoroo.model.outcomes import Outcome
from remoroo.model.plan import required_metrics
from remoroo.model.spec import parse_goal
from remoroo.protocol.client import BrainClient


@dataclass(frozen=True)
class RunResult:
    run_id: str
    run_dir: Path
    outcome: Outcome
    reason: str


def run(config: RunConfig, brain: BrainClient, observer: Callable[[Event], None] | None = None) -> RunResult:
    """Run the engine on ``config.repo``; always ends with a report."""
    goal = parse_goal(config.goal, config.metrics)
    if not config.repo.is_dir():
        raise UserError(f"The repository {config.repo} does not exist: pass the path of a folder.")
    if config.sandbox == "on" and (problem := sandbox_problem()) is not None:
        raise UserError(f"{problem}. Or run unsandboxed with --sandbox off (measured code then sees this machine: "
                        "your files, HOME, network and environment).")
    folder = RunFolder.create(config.repo, new_run_id(), observer)
    folder.write_json("run.json", {"run_id": folder.run_id, "brain": brain.name,
                                   "config": config.model_dump(mode="json")})
    folder.append(RunStarted(run_id=folder.run_id, goal=goal.text, spec=goal.spec, brain=brain.name,
                             targets=[t.text for t in goal.targets], semantic=[s.text for s in goal.semantic],
                             metrics=required_metrics(goal),
                             sandbox="bubblewrap" if config.sandbox == "on" else "unsandboxed"))
    brain.recorder = _transcript(folder)
    measurer: PlanMeasurer | None = None
    turns = 0
    try:
        workspace = Workspace.snapshot(config.repo, folder.root / "work")
        measurer = PlanMeasurer(_environment(config, folder), folder)
        if config.cluster:
            from remoroo.measure.remote import RemoteMeasurer

            measurer.remote = RemoteMeasurer(config.cluster, config.workers)
            folder.append(ClusterJoined(address=config.cluster, workers=measurer.remote.workers))
        ctx = RunContext(config=config, user_goal=goal, brain=brain, folder=folder, workspace=workspace,
                         measurer=measurer, index=RunIndex(workspace.root, folder, config.repo),
                         budgets=config.budgets())
        ending, turns, setup, progress = drive(ctx)
        ask_judge(ctx, setup, progress, ending)
    except BudgetExceeded as exc:
        folder.append(BudgetExceededEvent(error=str(exc)))
        ending = Ending("FAIL", f"budget: {exc}")
    except EngineError as exc:
        folder.append(EngineFailed(error=str(exc), kind=type(exc).__name__))
        ending = Ending("FAIL", f"engine error: {exc}")
    except KeyboardInterrupt:
        folder.append(Cancelled())
        ending = Ending("FAIL", "cancelled by the user")
    finally:
        if measurer is not None:
            measurer.close()
        shutil.rmtree(folder.root / "work-candidates", ignore_errors=True)
        if measurer is None or not config.keep_work:
            shutil.rmtree(folder.root / "work", ignore_errors=True)
    folder.append(RunFinished(outcome=ending.outcome, reason=ending.reason, turns=turns, brain_calls=brain.calls,
                              usage=brain.usage.model_dump(mode="json")))
    write_reports(folder)
    return RunResult(folder.run_id, folder.root, ending.outcome, ending.reason)


def drive(ctx: RunContext) -> tuple[Ending, int, Setup | None, Progress | None]:
    """The loop: plan and baseline, then turns until every target is met, a budget ends, or progress stalls."""
    prepared = prepare(ctx)
    if isinstance(prepared, Ending):
        return prepared, 0, None, None
    setup, progress = prepared
    stop = ""
    while not _all_met(setup, progress):
        stop = ctx.budgets.stop_reason(progress.turns_run) or ""
        if stop:
            break
        if ctx.budgets.stagnated(progress.stagnant):
            if progress.replans >= ctx.config.max_replans:
                stop = f"stagnation: {progress.stagnant} turns without metric progress"
                break
            replanned = _replan(ctx, setup, progress)
            if isinstance(replanned, Ending):
                stop = replanned.reason
                break
            setup, progress = replanned
        turn = progress.turns_run + 1
        result = run_turn(ctx, setup, progress, turn)
        if isinstance(result, GaveUp):
            stop = f"the brain had nothing more to try: {result.reason}"
            break
        progress = advance(progress, result, turn)
    return conclude(ctx, setup, progress, stop), progress.turns_run, setup, progress


def advance(progress: Progress, result: TurnResult, turn: int) -> Progress:
    """The progress after a turn: a new kept state on a KEPT decision; stagnation counts metric progress only."""
    ever = progress.ever_measured or result.measured_goal
    moved = result.verdict.progress or (not ever and result.ran_ok)
    return replace(
        progress, kept=result.kept or progress.kept, history=progress.history + result.summaries,
        log_tails={**progress.log_tails, **result.log_tails},
        witnesses=result.witnesses if result.witnesses is not None else progress.witnesses,
        turns_run=turn, stagnant=0 if moved else progress.stagnant + 1, ever_measured=ever,
        vetoed=progress.vetoed | result.vetoed)


def _replan(ctx: RunContext, setup: Setup, progress: Progress) -> tuple[Setup, Progress] | Ending:
    replans = progress.replans + 1
    reason = f"{progress.stagnant} turns without metric progress"
    ctx.folder.append(Replanned(replan=replans, reason=reason))
    planned = make_plan(ctx, PlanAsk(goal=setup.goal, replan=replans, reason=reason, previous=setup.plan,
                                     history=progress.history))
    if isinstance(planned, Ending):
        return planned
    return setup.with_plan(planned), replace(progress, replans=replans, stagnant=0)


def _all_met(setup: Setup, progress: Progress) -> bool:
    statuses = evaluate(setup.goal, progress.kept.metrics, setup.baseline_metrics, setup.noise)
    return bool(statuses) and all(s.met for s in statuses)


def conclude(ctx: RunContext, setup: Setup, progress: Progress, stop: str) -> Ending:
    """The outcome of the kept state against the baseline, verified on a fresh copy before it may claim success."""
    ws, kept = ctx.workspace, progress.kept
    changed = kept.commit != setup.start_commit
    diff = ws.diff(setup.start_commit, kept.commit) if changed else ""
    (ctx.folder.root / "final_patch.diff").write_text(diff, encoding="utf-8")
    outcome, reason = final_outcome(setup.goal, setup.baseline_metrics, kept.metrics, changed, setup.noise)
    final_metrics = dict(kept.metrics)
    if changed and outcome != "FAIL":
        verified = verify_final(ctx, setup, diff, outcome, reason)
        outcome, reason, final_metrics = verified.outcome, verified.reason, verified.metrics
    statuses = evaluate(setup.goal, final_metrics, setup.baseline_metrics, setup.noise)
    ctx.folder.append(Final(metrics=dict(final_metrics), kept_turn=kept.turn, changed=changed, stop=stop,
                            targets=statuses, metric_names=setup.metrics))
    if outcome == "FAIL" and not changed and progress.vetoed:
        reason = f"vetoed: {', '.join(sorted(progress.vetoed))}; {reason}"
    if stop and outcome != "SUCCESS":
        reason = f"{reason} (stopped: {stop})"
    return Ending(outcome, reason)


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
    limits = Limits(memory_mb=config.memory_limit_mb, processes=config.max_processes, file_mb=config.max_file_mb,
                    log_mb=config.log_cap_mb)
    sandbox = Sandbox(mode="bwrap" if config.sandbox == "on" else "off", limits=limits,
                      hidden=[str(config.repo.resolve()), str(folder.root.resolve())])
    venvs = {name: str(path) for name, path in venvs_of(config.repo.resolve()).items()}
    return Environment(base_env=dict(config.command_env), shim_dir=str(shim), grace_s=config.grace_s,
                       sandbox=sandbox, venvs=venvs, allowed=list(config.allow_paths))
