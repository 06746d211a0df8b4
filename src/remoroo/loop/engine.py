"""One run, from goal to a terminal outcome.

goal → index (context slice) → plan → baseline → turns of
patch → audit the change → run and measure → audit the measurement → decide
→ final verification → report.

``run`` builds the frozen :class:`RunContext`, ``drive`` is the loop over typed
stages, and only ``drive`` turns a stage's result into the next ``Progress``.
"""

from __future__ import annotations

import shutil
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from remoroo.errors import BrainError, BudgetExceeded, EngineError, InternalError, StoreError, UserError
from remoroo.evidence.events import (
    BudgetExceededEvent,
    Cancelled,
    ClusterJoined,
    EngineFailed,
    Event,
    Final,
    InternalFailed,
    Judged,
    Replanned,
    Resumed,
    RunFinished,
    RunStarted,
    SnapshotNotes,
    StoreUnavailable,
)
from remoroo.evidence.ledger import RunFolder, new_run_id
from remoroo.evidence.publish import write_fallback_report, write_reports
from remoroo.evidence.store import Mirror, ObjectStore
from remoroo.exec.sandbox import Limits, Sandbox, sandbox_problem, venvs_of
from remoroo.exec.workspace import Workspace
from remoroo.loop.indexer import RunIndex
from remoroo.loop.journal import Journaled, Transcript
from remoroo.loop.judge import ask_judge
from remoroo.loop.liveness import Resuming, mark_running, mark_stopped, prepare_resume, refuse_if_running
from remoroo.loop.measurer import PlanMeasurer
from remoroo.loop.planning import PlanAsk, make_plan
from remoroo.loop.preflight import prepare
from remoroo.loop.state import Ending, Progress, RunContext, Setup
from remoroo.loop.timeouts import fitted
from remoroo.loop.turn import GaveUp, TurnResult, run_turn
from remoroo.loop.verify import verify_final
from remoroo.measure.commands import Environment
from remoroo.measure.shim import write_shim
from remoroo.model.config import RunConfig
from remoroo.model.decide import evaluate, final_outcome
from remoroo.model.goal import Goal
from remoroo.model.outcomes import Outcome
from remoroo.model.plan import Plan, required_metrics
from remoroo.model.spec import parse_goal
from remoroo.protocol.client import BrainClient


@dataclass(frozen=True)
class RunResult:
    run_id: str
    run_dir: Path
    outcome: Outcome
    reason: str


class Tracker:
    """The latest plan-and-baseline and progress ``drive`` reached: what a run that stops early still delivers."""

    def __init__(self) -> None:
        self.setup: Setup | None = None
        self.progress: Progress | None = None
        self.turns = 0


def run(config: RunConfig, brain: BrainClient, observer: Callable[[Event], None] | None = None,
        confirm: Callable[[Plan], bool] | None = None) -> RunResult:
    """Run the engine on ``config.repo``; always ends with a report. ``confirm`` is asked, with each validated
    plan, before its commands first run."""
    goal = parse_goal(config.goal, config.metrics)
    if not config.repo.is_dir():
        raise UserError(f"The repository {config.repo} does not exist: pass the path of a folder.")
    if config.sandbox == "on" and (problem := sandbox_problem()) is not None:
        raise UserError(f"{problem}. Or run unsandboxed with --sandbox off (measured code then sees this machine: "
                        "your files, HOME, network and environment).")
    if config.store:
        try:
            ObjectStore(config.store, config.store_endpoint).check()
        except StoreError as exc:
            raise UserError(f"{exc}. Check --store and --store-endpoint (or AWS_ENDPOINT_URL and the AWS_* "
                            "credentials), or run without --store.") from exc
    folder = RunFolder.create(config.repo, new_run_id(), observer)
    folder.write_json("run.json", {"run_id": folder.run_id, "brain": brain.name,
                                   "config": config.model_dump(mode="json")})
    return execute(config, brain, folder, goal, confirm=confirm)


def resume(folder: RunFolder, config: RunConfig, brain: BrainClient,
           observer: Callable[[Event], None] | None = None) -> RunResult:
    """Carry on a run that was killed: replay it from its record, redo the step in flight, end as it would have.

    ``config`` is the run's own (``run.json``, see ``model.config.saved_config``)."""
    folder.observer = observer
    refuse_if_running(folder)
    finished = [e for e in folder.events() if isinstance(e, RunFinished)]
    if finished:  # killed while writing the reports: only they are missing
        finish_reports(folder)
        return RunResult(folder.run_id, folder.root, finished[-1].outcome, finished[-1].reason)
    resuming = prepare_resume(folder)
    goal = parse_goal(config.goal, config.metrics)
    return execute(config, brain, folder, goal, resumed=resuming)


def execute(config: RunConfig, brain: BrainClient, folder: RunFolder, goal: Goal,
            resumed: Resuming | None = None, confirm: Callable[[Plan], bool] | None = None) -> RunResult:
    """A run in ``folder``, from its first event to ``RunFinished`` and the reports, whatever happens on the way.

    Every exception ends here: budgets, engine errors, Ctrl-C and, as a last resort, bugs (``InternalError``).
    Each of them ends the run with the outcome of its kept, verified state; the judge speaks only after that.
    """
    mirror = _mirror(config, folder)
    counts: list[Journaled] = []
    transcript = Transcript(folder, replaying=resumed is not None)
    if resumed is not None:
        folder.replay(lambda kept: Resumed(
            replayed_events=kept, replayed_brain_calls=transcript.replayed,
            replayed_measurements=sum(j.replayed for j in counts), cleaned=resumed.cleaned))
    folder.append(RunStarted(run_id=folder.run_id, goal=goal.text, spec=goal.spec, brain=brain.name,
                             targets=[t.text for t in goal.targets], semantic=[s.text for s in goal.semantic],
                             metrics=required_metrics(goal),
                             sandbox="bubblewrap" if config.sandbox == "on" else "unsandboxed"))
    budgets = config.budgets()
    if resumed is not None:  # the time the run had used before it was killed still counts
        budgets = replace(budgets, started=budgets.started - resumed.elapsed_s)
    brain.deadline = budgets.deadline
    brain.replay, brain.recorder = transcript.recall, transcript.record
    measurer: PlanMeasurer | None = None
    ctx: RunContext | None = None
    tracker = Tracker()
    no_judge = False
    mark_running(folder)
    try:
        try:
            work = folder.root / "work"
            if resumed is None or not resumed.snapshot:
                workspace = Workspace.snapshot(config.repo, work, bundle=folder.root / "snapshot.bundle")
                folder.mirror_file("snapshot.bundle")
            else:  # the snapshot as it was taken, whatever the repository holds now
                workspace = Workspace.restore(folder.root / "snapshot.bundle", work)
                workspace.skipped = dict(resumed.skipped)
            if workspace.skipped:
                folder.append(SnapshotNotes(skipped=dict(workspace.skipped)))
            measurer = PlanMeasurer(_environment(config, folder), folder)
            if config.cluster:
                from remoroo.measure.remote import RemoteMeasurer

                measurer.remote = RemoteMeasurer(config.cluster, config.workers)
                folder.append(ClusterJoined(address=config.cluster, workers=measurer.remote.workers))
            journaled = Journaled(measurer, folder, replaying=resumed is not None)
            counts.append(journaled)
            ctx = RunContext(config=config, user_goal=goal, brain=brain, folder=folder, workspace=workspace,
                             measurer=journaled, index=RunIndex(workspace.root, folder, config.repo),
                             budgets=budgets, confirm=confirm)
            ending = drive(ctx, tracker)
        except KeyboardInterrupt:
            folder.append(Cancelled())
            no_judge = True  # the user wants the run to end: no judge call after it
            ending = salvage(ctx, tracker, "cancelled by the user")
        except BudgetExceeded as exc:
            folder.append(BudgetExceededEvent(error=str(exc)))
            ending = salvage(ctx, tracker, f"budget: {exc}")
        except EngineError as exc:
            no_judge = isinstance(exc, BrainError)
            folder.append(EngineFailed(error=str(exc), kind=type(exc).__name__))
            ending = salvage(ctx, tracker, f"{'brain' if no_judge else 'engine'} error: {exc}")
        except Exception as exc:  # noqa: BLE001 - the last-resort boundary: a bug still ends with a report
            ending = salvage(ctx, tracker, _internal(folder, exc, "the run"))
        if ctx is not None and not no_judge:  # no judge after a brain error or Ctrl-C
            try:
                ask_judge(ctx, tracker.setup, tracker.progress, ending)
            except KeyboardInterrupt:
                folder.append(Judged(reasoning="", error="interrupted by the user"))
            except Exception as exc:  # noqa: BLE001 - the advisory judge never changes the outcome
                _internal(folder, exc, "the judge")
    finally:
        if measurer is not None:
            measurer.close()
        if ctx is not None:
            ctx.workspace.release_checkouts()
        shutil.rmtree(folder.root / "work-candidates", ignore_errors=True)
        if measurer is None or not config.keep_work:
            shutil.rmtree(folder.root / "work", ignore_errors=True)
    if mirror is not None and (failed := mirror.drain()) is not None:
        folder.append(StoreUnavailable(store=str(mirror.store), error=failed))
    folder.append(RunFinished(outcome=ending.outcome, reason=ending.reason, turns=tracker.turns,
                              brain_calls=brain.calls, usage=brain.usage.model_dump(mode="json")))
    finish_reports(folder)
    if mirror is not None:
        folder.mirror = None
        mirror.close()  # the whole folder once more, logs included; the local copy stays whole either way
    return RunResult(folder.run_id, folder.root, ending.outcome, ending.reason)


def finish_reports(folder: RunFolder) -> None:
    """Write the reports from the ledger; a report that cannot be built still leaves a readable one."""
    try:
        write_reports(folder)
    except Exception as exc:  # noqa: BLE001 - the last-resort boundary of the report stage
        finished = [e for e in folder.events() if isinstance(e, RunFinished)]
        outcome, reason = (finished[-1].outcome, finished[-1].reason) if finished else ("FAIL", "no outcome")
        write_fallback_report(folder, outcome, reason, _internal(folder, exc, "the report"))
    mark_stopped(folder)


def _internal(folder: RunFolder, exc: BaseException, where: str) -> str:
    """Record a bug: the traceback in the run folder, an event in the ledger; returns the reason to end with."""
    error = InternalError(exc, where)
    name = "internal_error.txt"
    with open(folder.root / name, "a", encoding="utf-8") as handle:
        handle.write("".join(traceback.format_exception(exc)) + "\n")
    try:
        folder.append(InternalFailed(error=str(error), kind=type(exc).__name__, traceback_file=name))
    except Exception:  # noqa: BLE001 - the ledger itself may be what failed
        pass
    return f"internal error: {error} (traceback in {folder.root / name})"


def salvage(ctx: RunContext | None, tracker: Tracker, why: str) -> Ending:
    """End a run that stopped early with the outcome of its kept state, verified; FAIL when there is none."""
    if ctx is None or tracker.setup is None or tracker.progress is None:
        return Ending("FAIL", why)
    try:
        ctx.workspace.reset(tracker.progress.kept.commit)
        return conclude(ctx, tracker.setup, tracker.progress, why)
    except KeyboardInterrupt:
        return Ending("FAIL", f"{why}; interrupted again during final verification (final_patch.diff keeps the "
                              "kept change, unverified)")
    except Exception as exc:  # noqa: BLE001 - concluding is best effort once the run already stopped
        return Ending("FAIL", f"{why}; then {_internal(ctx.folder, exc, 'final verification')}")


def drive(ctx: RunContext, tracker: Tracker | None = None) -> Ending:
    """The loop: plan and baseline, then turns until every target is met, a budget ends, or progress stalls."""
    tracker = tracker or Tracker()
    prepared = prepare(ctx)
    if isinstance(prepared, Ending):
        return prepared
    setup, progress = prepared
    tracker.setup, tracker.progress = setup, progress
    ctx.workspace.reset(progress.kept.commit)  # what the baseline runs left goes: each turn asks about the kept state
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
            tracker.setup, tracker.progress = setup, progress
        turn = progress.turns_run + 1
        result = run_turn(ctx, setup, progress, turn)
        if isinstance(result, GaveUp):
            stop = f"the brain had nothing more to try: {result.reason}"
            break
        progress = advance(progress, result, turn)
        tracker.progress, tracker.turns = progress, progress.turns_run
    return conclude(ctx, setup, progress, stop)


def advance(progress: Progress, result: TurnResult, turn: int) -> Progress:
    """The progress after a turn: a new kept state on a KEPT decision; stagnation counts metric progress only."""
    ever = progress.ever_measured or result.measured_goal
    moved = result.verdict.progress or (not ever and result.ran_ok)
    return replace(
        progress, kept=result.kept or progress.kept, history=progress.history + result.summaries,
        log_tails={**progress.log_tails, **result.log_tails},
        witnesses=result.witnesses if result.witnesses is not None else progress.witnesses,
        turns_run=turn, stagnant=0 if moved else progress.stagnant + 1, ever_measured=ever,
        vetoed=progress.vetoed | result.vetoed, tests=progress.tests + result.tests, pinned=result.pinned)


def _replan(ctx: RunContext, setup: Setup, progress: Progress) -> tuple[Setup, Progress] | Ending:
    replans = progress.replans + 1
    reason = f"{progress.stagnant} turns without metric progress"
    ctx.folder.append(Replanned(replan=replans, reason=reason))
    planned = make_plan(ctx, PlanAsk(goal=setup.goal, replan=replans, reason=reason, previous=setup.plan,
                                     history=progress.history, pinned=progress.pinned))
    if isinstance(planned, Ending):
        return planned
    plan, _ = fitted(planned.plan, setup.baseline)  # the same bound on the same commands as after the baseline
    return setup.with_plan(replace(planned, plan=plan)), replace(progress, replans=replans, stagnant=0,
                                                                 pinned=planned.pinned)


def _all_met(setup: Setup, progress: Progress) -> bool:
    statuses = evaluate(setup.goal, progress.kept.metrics, setup.baseline_metrics, setup.noise, progress.kept.vs_base)
    return bool(statuses) and all(s.met for s in statuses)


def conclude(ctx: RunContext, setup: Setup, progress: Progress, stop: str) -> Ending:
    """The outcome of the kept state against the baseline, verified on a fresh copy before it may claim success."""
    ws, kept = ctx.workspace, progress.kept
    changed = kept.commit != setup.start_commit
    diff = ws.diff(setup.start_commit, kept.commit) if changed else ""
    # what the user gets is what was verified: the instrumentation (when the metric needed it) and the fix,
    # as two diffs that apply one after the other to the repository as it was (``remoroo apply``)
    ctx.folder.write_text("final_patch.diff", diff, durable=True)
    if setup.instrumentation_diff:
        ctx.folder.write_text("instrumentation.diff", setup.instrumentation_diff, durable=True)
    else:
        (ctx.folder.root / "instrumentation.diff").unlink(missing_ok=True)
    outcome, reason = final_outcome(setup.goal, setup.baseline_metrics, kept.metrics, changed, setup.noise,
                                    kept.vs_base)
    final_metrics, vs_base = dict(kept.metrics), dict(kept.vs_base)
    if changed and outcome != "FAIL":
        verified = verify_final(ctx, setup, diff, outcome, reason)
        outcome, reason, final_metrics, vs_base = verified.outcome, verified.reason, verified.metrics, verified.vs_base
    statuses = evaluate(setup.goal, final_metrics, setup.baseline_metrics, setup.noise, vs_base)
    ctx.folder.append(Final(metrics=dict(final_metrics), kept_turn=kept.turn, changed=changed, stop=stop,
                            targets=statuses, metric_names=setup.metrics))
    if outcome == "FAIL" and not changed and progress.vetoed:
        reason = f"vetoed: {', '.join(sorted(progress.vetoed))}; {reason}"
    if stop and outcome != "SUCCESS":
        reason = f"{reason} (stopped: {stop})"
    return Ending(outcome, reason)


def _mirror(config: RunConfig, folder: RunFolder) -> Mirror | None:
    """The artifact store's copy of this run folder, from the first file on (``--store``)."""
    if not config.store:
        return None
    mirror = Mirror(ObjectStore(config.store, config.store_endpoint), folder.root, folder.run_id)
    folder.mirror = mirror
    for name in ("run.json", "events.ndjson", "snapshot.bundle"):  # written before the mirror existed
        if (folder.root / name).is_file():
            mirror(name)
    return mirror


def _environment(config: RunConfig, folder: RunFolder) -> Environment:
    shim = write_shim(folder.root / "shim")
    limits = Limits(memory_mb=config.memory_limit_mb, processes=config.max_processes, file_mb=config.max_file_mb,
                    log_mb=config.log_cap_mb)
    sandbox = Sandbox(mode="bwrap" if config.sandbox == "on" else "off", limits=limits,
                      hidden=[str(config.repo.resolve()), str(folder.root.resolve())])
    venvs = {name: str(path) for name, path in venvs_of(config.repo.resolve()).items()}
    return Environment(base_env=dict(config.command_env), shim_dir=str(shim), grace_s=config.grace_s,
                       sandbox=sandbox, venvs=venvs, allowed=list(config.allow_paths))
