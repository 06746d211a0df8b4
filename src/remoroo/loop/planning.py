"""Plan stage: ask the brain for a plan until one validates, or end clearly."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from remoroo.audit.paths import why_protected
from remoroo.errors import PlanRejected, SpecError
from remoroo.evidence.events import PlanAccepted, PlanGivenUp, PlanRejectedEvent, PlanUnmeasurable
from remoroo.index.discovery import discover_commands
from remoroo.index.refs import command_defects, measurement_defects
from remoroo.index.slice import build_slice, list_files
from remoroo.loop.hydration import ask
from remoroo.loop.scout import scout
from remoroo.loop.state import Ending, Planned, RunContext
from remoroo.loop.timeouts import baseline_ceiling
from remoroo.model.goal import Goal
from remoroo.model.plan import Command, Plan, effective_goal
from remoroo.model.plan_rules import instrument_defects, path_defects, semantic_defects, service_defects
from remoroo.protocol.wire import FileView, PlanRequest, Scouted, StateSummary, new_request_id


@dataclass(frozen=True)
class PlanAsk:
    """What the brain is told when asked for a plan."""

    goal: Goal | None = None
    replan: int = 0
    reason: str | None = None
    previous: Plan | None = None
    history: tuple[StateSummary, ...] = ()
    feedback: tuple[str, ...] = ()
    observations: dict[str, str] = field(default_factory=dict)
    scouted: tuple[Scouted, ...] = ()  # what the previous plan's baseline printed and wrote, as a scouting run shows
    pinned: tuple[str, ...] = ()  # files the brain asked for before: sent again in full


def make_plan(ctx: RunContext, ask_for: PlanAsk) -> Planned | Ending:
    """A validated plan with its effective goal, or the Ending that stops the run."""
    feedback = list(ask_for.feedback)
    attempts = ctx.config.max_plan_attempts
    scouted: list[Scouted] = list(ask_for.scouted)
    looked = False  # the brain may ask for scouting runs once per plan
    pinned = ask_for.pinned
    for attempt in range(1, attempts + 1):
        if ctx.budgets.time_exhausted():
            return Ending("FAIL", "time budget used up while planning")
        request = _request(ctx, ask_for, feedback).model_copy(update={"scouted": scouted})

        def build(hydrated: list[FileView], notes: list[str], request: PlanRequest = request) -> PlanRequest:
            return request.model_copy(update={"hydrated": hydrated, "feedback": request.feedback + notes,
                                              "request_id": new_request_id()})

        response, pinned = ask(ctx, build, ctx.brain.plan, "plan", pinned)
        if response.observe and not looked:
            looked = True
            seen = _scout(ctx, request, response.observe)
            if isinstance(seen, Ending):
                return seen
            scouted = scouted + seen
            request = request.model_copy(update={"scouted": scouted})
            response, pinned = ask(ctx, partial(build, request=request), ctx.brain.plan, "plan", pinned)
        if response.observe:
            feedback.append("observe: the candidates were already scouted once (see 'scouted'); answer with a plan "
                            "or give_up")
            continue
        if response.plan is None:
            ctx.folder.append(PlanGivenUp(replan=ask_for.replan, reason=response.give_up))
            return Ending("FAIL", f"the brain could not plan: {response.give_up}")
        plan = response.plan
        try:
            goal = validate_plan(plan, ctx.user_goal, ctx.work_root)
        except PlanRejected as exc:
            ctx.folder.append(PlanRejectedEvent(replan=ask_for.replan, attempt=attempt, defects=exc.defects))
            feedback.append(str(exc))
            continue
        if plan.unmeasurable:
            reasons = "; ".join(f"{u.clause!r}: {u.reason}" for u in plan.unmeasurable)
            ctx.folder.append(PlanUnmeasurable(replan=ask_for.replan, clauses=plan.unmeasurable))
            return Ending("FAIL", f"unmeasurable: {reasons}")
        name = "plan.json" if ask_for.replan == 0 else f"plan.replan{ask_for.replan}.json"
        ctx.folder.write_json(name, plan)
        ctx.folder.append(PlanAccepted(replan=ask_for.replan, attempt=attempt, file=name,
                                       commands=[c.run for c in plan.commands], reason=ask_for.reason))
        if ctx.confirm is not None and not ctx.confirm(plan):
            return Ending("FAIL", "the user declined to run the plan's commands (nothing was run)")
        return Planned(plan=plan, goal=goal, harness_text=harness_text(ctx.work_root, plan), pinned=pinned)
    last = feedback[-1] if feedback else "no plan"
    return Ending("FAIL", f"no valid plan after {attempts} attempt(s). {last}")


def _scout(ctx: RunContext, request: PlanRequest, wanted: list[str]) -> list[Scouted] | Ending:
    """The scouting runs the brain asked for, after the user (when asked) approved their commands."""
    runs = [c for c in request.candidates if c.run in wanted and not c.service]
    if runs and ctx.confirm is not None:
        look = Plan(summary="scouting runs", commands=[
            Command(name=f"scout{i}", run=c.run, cwd=c.cwd, env=c.env) for i, c in enumerate(runs, 1)])
        if not ctx.confirm(look):
            return Ending("FAIL", "the user declined the scouting runs (nothing was run)")
    return scout(ctx, wanted, request.candidates, request.command_timeout_s)


def _request(ctx: RunContext, ask_for: PlanAsk, feedback: list[str]) -> PlanRequest:
    index = ctx.index.current()
    return PlanRequest(
        goal=ctx.goal_view(ask_for.goal), history=list(ask_for.history), feedback=list(feedback),
        context=build_slice(ctx.work_root, ctx.user_goal, ctx.config.context_budget_chars, index),
        candidates=discover_commands(ctx.work_root, index), replan=ask_for.replan, replan_reason=ask_for.reason,
        previous_plan=ask_for.previous, observations=ask_for.observations,
        command_timeout_s=baseline_ceiling(ctx.config, ctx.budgets))


def validate_plan(plan: Plan, goal: Goal, root: Path) -> Goal:
    """Return the effective goal, or raise :class:`PlanRejected` naming every defect."""
    try:
        full = effective_goal(plan, goal)
    except SpecError as exc:
        raise PlanRejected([f"resolved_targets: {exc}"]) from exc
    defects = (semantic_defects(plan, full) + service_defects(plan) + command_defects(plan, root)
               + measurement_defects(plan)
               + instrument_defects(plan, full) + path_defects(plan))
    if defects:
        raise PlanRejected(defects)
    return full


def harness_text(root: Path, plan: Plan, limit: int = 200_000) -> str:
    """The protected Python files (tests, benchmarks, evaluators) as they are: their literals are inputs."""
    parts: list[str] = []
    for path in list_files(root):
        rel = path.relative_to(root).as_posix()
        if rel.endswith(".py") and why_protected(rel, plan) and sum(map(len, parts)) < limit:
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(parts)
