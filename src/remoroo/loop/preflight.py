"""Preflight: plan, measure the baseline, and make sure every goal metric has a value.

When the commands run but a metric has no value, the brain is asked to
instrument the code (an ``emit`` at the canonical calculation, audited like
any patch, and kept apart from the user-facing final diff), or to replan
with what the commands printed; at most ``max_plan_attempts`` times, then
the run ends FAIL naming the metric and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from remoroo.errors import PatchRejected
from remoroo.evidence.events import (
    Baseline,
    CommandSummary,
    InstrumentationRejected,
    InstrumentationVetoed,
    Instrumented,
    PreflightFailed,
    TimeoutsFitted,
)
from remoroo.index.slice import build_slice, plan_entries
from remoroo.loop.hydration import ask
from remoroo.loop.observe import audit_change, log_tails, protection, provenance, witnesses
from remoroo.loop.planning import PlanAsk, make_plan
from remoroo.loop.scout import harvest_measurement
from remoroo.loop.state import Ending, Kept, Planned, Progress, RunContext, Setup
from remoroo.loop.timeouts import fitted, hung_baseline
from remoroo.measure.repeat import baseline_repeats, noise_floors, repeats_for
from remoroo.model.decide import Noise
from remoroo.model.goal import BaselineRef, is_number
from remoroo.model.names import best_label
from remoroo.patch.apply import apply_proposal
from remoroo.protocol.wire import FileView, InstrumentRequest, Scouted, StateSummary


@dataclass(frozen=True)
class Unsourced:
    """The baseline ran, but some goal metric had no value."""

    missing: dict[str, str]

    @property
    def message(self) -> str:
        lines = [f"- {m}: {why}" for m, why in self.missing.items()]
        return ("The commands ran at baseline, but the instrumentation found no value for:\n" + "\n".join(lines)
                + "\nSee observations for what the commands printed; fix the instrumentation.")


@dataclass(frozen=True)
class Instrumentation:
    """An audited instrumentation patch, committed on top of the snapshot."""

    commit: str
    diff: str


def prepare(ctx: RunContext) -> tuple[Setup, Progress] | Ending:
    """Plan, then measure the baseline; an instrumentation that finds nothing goes back to the brain."""
    ask_for = PlanAsk()
    start, instrumented_diff = ctx.workspace.base, ""
    unsourced = Unsourced({})
    declined, reread = "", False
    for _ in range(ctx.config.max_plan_attempts):
        planned = make_plan(ctx, ask_for)
        if isinstance(planned, Ending):
            return planned
        setup, progress = baseline(ctx, planned, start, instrumented_diff)
        hung = hung_baseline(ctx.config, setup.plan, setup.baseline)
        if hung is not None:
            return Ending("FAIL", hung)
        found = check_baseline(setup, progress)
        if not isinstance(found, Unsourced):
            return found or (setup, progress)
        seen = harvest_measurement(setup.plan, setup.baseline, ctx.work_root)
        if not reread and reported(found.missing, seen):  # reported, not where the plan looked: replan once first
            reread = True
            ask_for = _replan_ask(planned, progress, found, seen)
            ctx.folder.append(PreflightFailed(missing=found.missing))
            unsourced = found
            continue
        instrumentation = instrument(ctx, setup, progress, found)
        if isinstance(instrumentation, Ending):  # nothing to add to the code: a plan that reads it elsewhere may;
            if declined:  # said twice, it is the answer
                return instrumentation
            declined, instrumentation = instrumentation.reason, None
        if instrumentation is not None:
            start, instrumented_diff = instrumentation.commit, instrumented_diff + instrumentation.diff
            setup, progress = baseline(ctx, planned, start, instrumented_diff)
            found = check_baseline(setup, progress)
            if not isinstance(found, Unsourced):
                return found or (setup, progress)
        unsourced = found
        ask_for = _replan_ask(planned, progress, found,
                              harvest_measurement(setup.plan, setup.baseline, ctx.work_root))
        ctx.folder.append(PreflightFailed(missing=found.missing))
    missing = "; ".join(f"{m}: {r}" for m, r in unsourced.missing.items())
    if declined:
        return Ending("FAIL", declined)
    return Ending("FAIL", f"unmeasurable: the commands ran but no plan's instrumentation found a value ({missing})")


def _replan_ask(planned: Planned, progress: Progress, found: Unsourced, seen: list[Scouted]) -> PlanAsk:
    """The next plan request: the baseline run is a scouting run too, so every number it printed or wrote goes."""
    return PlanAsk(goal=planned.goal, previous=planned.plan, history=progress.history, feedback=(found.message,),
                   observations=dict(progress.log_tails), scouted=tuple(seen), pinned=progress.pinned)


def reported(missing: dict[str, str], seen: list[Scouted]) -> bool:
    """Whether the run printed or wrote a value named like every missing metric."""
    labels = [v.label for s in seen for v in s.values] + [v.key or "" for s in seen for v in s.values]
    return bool(missing) and all(best_label(m, labels) is not None for m in missing)


def baseline(ctx: RunContext, planned: Planned, start: str, instrumentation_diff: str) -> tuple[Setup, Progress]:
    """Measure the snapshot (with its instrumentation) repeatedly: the reference for every later decision."""
    logs = ctx.folder.turn_dir(0) / "logs"
    plan, metrics, deadline = planned.plan, planned.metrics, ctx.budgets.deadline
    first = ctx.measurer.measure(plan, metrics, ctx.work_root, logs, repeats=1, deadline=deadline)
    plan, timeouts = fitted(plan, first)
    if timeouts:
        ctx.folder.append(TimeoutsFitted(timeouts=timeouts))
    repeats = repeats_for(metrics, first.duration_s, ctx.config.repeats)
    result = first
    if baseline_repeats(repeats) > 1:  # the first run counts as one of the repeats
        result = ctx.measurer.measure(plan, metrics, ctx.work_root, logs, repeats=baseline_repeats(repeats),
                                      deadline=deadline, first=first)
    noise = Noise(rel_tol_timing=ctx.config.noise_rel_timing, floors=noise_floors(result))
    ctx.measurer.protect_inputs(result.inputs)  # what the baseline read is read-only for every candidate
    setup = Setup(plan=plan, goal=planned.goal, harness_text=planned.harness_text, pinned=planned.pinned,
                  baseline=result, noise=noise,
                  repeats=repeats, start_commit=start, instrumentation_diff=instrumentation_diff)
    ctx.folder.write_json("turns/0/metrics.json", result)
    ctx.folder.append(Baseline(
        metrics=dict(result.metrics), missing=result.missing, flags=result.flags, spread=result.spread,
        repeats=result.repeats, duration_s=round(result.duration_s, 3),
        commands=[CommandSummary.model_validate(c) for c in result.command_summary()],
        provenance=provenance(plan, result), inputs=list(result.inputs)))
    found = witnesses(ctx, setup, result, 0, ctx.work_root)
    summary = StateSummary(label="baseline", turn=0, metrics=dict(result.metrics), decision="BASELINE",
                           reason="the repository as given")
    progress = Progress(kept=Kept(commit=start, metrics=dict(result.metrics), runs=result.code_runs),
                        history=(summary,), log_tails=log_tails(result, ctx.work_root), witnesses=found,
                        ever_measured=any(m in result.metrics for m in planned.goal.metric_names),
                        pinned=planned.pinned)
    return setup, progress


def check_baseline(setup: Setup, progress: Progress) -> Ending | Unsourced | None:
    """None when the baseline gives every metric the goal needs."""
    result = setup.baseline
    for target in setup.goal.targets:
        if isinstance(target.rhs, BaselineRef) and not is_number(result.metrics.get(target.rhs.metric)):
            ref = target.rhs.metric
            why = result.missing.get(ref, "it is not a number")
            return Ending("FAIL", f"unmeasurable: {target.text!r} needs the baseline of {ref}, but {why}")
    if result.code_runs and result.missing:
        return Unsourced(dict(result.missing))
    return None


def instrument(ctx: RunContext, setup: Setup, progress: Progress,
               unsourced: Unsourced) -> Instrumentation | Ending | None:
    """Ask for an instrumentation patch; it is applied, audited and committed, or None."""
    plan = setup.plan

    def build(hydrated: list[FileView], notes: list[str]) -> InstrumentRequest:
        index = ctx.index.current()
        context = build_slice(ctx.work_root, setup.goal, ctx.config.context_budget_chars, index,
                              entries=plan_entries(plan, index), protected=protection(plan))
        return InstrumentRequest(
            goal=ctx.goal_view(setup.goal), plan=plan, missing=unsourced.missing,
            observations=dict(progress.log_tails), context=context, history=list(progress.history),
            feedback=notes, hydrated=hydrated)

    response, _ = ask(ctx, build, ctx.brain.instrument, "instrument", progress.pinned)
    if response.unmeasurable:
        return Ending("FAIL", f"unmeasurable: {', '.join(unsourced.missing)}: {response.unmeasurable}")
    if response.proposal is None:
        return None
    ws, start = ctx.workspace, setup.start_commit
    ws.reset(start)
    try:
        apply_proposal(ws.root, response.proposal)
    except PatchRejected as exc:
        ws.reset(start)
        ctx.folder.append(InstrumentationRejected(message=str(exc)))
        return None
    commit = ws.commit("remoroo instrumentation")
    files = ws.changed_files(start, commit)
    verdict = audit_change(ctx, setup, start, commit, files, instrumentation=True)
    if not verdict.passed:
        ws.reset(start)
        ctx.folder.write_json("audit/instrumentation.json", verdict)
        ctx.folder.append(InstrumentationVetoed(rules=sorted({v.rule for v in verdict.vetoes}),
                                                reasons=[v.reason for v in verdict.vetoes]))
        return None
    diff = ws.diff(start, commit)
    ctx.folder.write_text("instrumentation.diff", setup.instrumentation_diff + diff)
    ctx.folder.append(Instrumented(files=files, rationale=response.proposal.rationale))
    return Instrumentation(commit=commit, diff=diff)
