"""Plan stage: ask the brain for a plan until one validates, or end clearly."""

from __future__ import annotations

from pathlib import Path

from remoroo.errors import PlanRejected, SpecError
from remoroo.index.discovery import discover_commands
from remoroo.index.refs import command_defects
from remoroo.index.slice import build_slice
from remoroo.loop.hydration import ask
from remoroo.loop.session import Ending, Session
from remoroo.model.goal import Goal
from remoroo.model.plan import Plan, effective_goal
from remoroo.model.plan_rules import instrument_defects, path_defects, semantic_defects, service_defects
from remoroo.protocol.wire import CommandCandidate, ContextSlice, FileView, PlanRequest


def make_plan(session: Session, replan: int, reason: str | None, feedback: list[str] | None = None,
              observations: dict[str, str] | None = None) -> Plan | Ending:
    """A validated plan (also stored on the session), or the Ending that stops the run."""
    feedback = list(feedback or [])
    original = session.user_goal
    for attempt in range(1, session.config.max_plan_attempts + 1):
        if session.budget.time_exhausted():
            return Ending("FAIL", "time budget used up while planning")
        index = session.repo_index()
        context = build_slice(session.work_root, original, session.config.context_budget_chars, index)
        candidates = discover_commands(session.work_root, index)

        def build(hydrated: list[FileView], notes: list[str], feedback: list[str] = feedback,
                  context: ContextSlice = context, candidates: list[CommandCandidate] = candidates) -> PlanRequest:
            return PlanRequest(
                goal=session.goal_view(), context=context, history=session.history, feedback=feedback + notes,
                replan=replan, replan_reason=reason, previous_plan=session.plan, observations=observations or {},
                command_timeout_s=session.config.command_timeout_s, hydrated=hydrated, candidates=candidates,
            )

        response = ask(session, build, session.brain.plan, "plan")
        if response.plan is None:
            session.folder.append("plan_given_up", replan=replan, reason=response.give_up)
            return Ending("FAIL", f"the brain could not plan: {response.give_up}")
        plan = response.plan
        try:
            goal = validate_plan(plan, original, session.work_root)
        except PlanRejected as exc:
            session.folder.append("plan_rejected", replan=replan, attempt=attempt, defects=exc.defects)
            feedback.append(str(exc))
            continue
        if plan.unmeasurable:
            reasons = "; ".join(f"{u.clause!r}: {u.reason}" for u in plan.unmeasurable)
            session.folder.append("plan_unmeasurable", replan=replan, clauses=plan.unmeasurable)
            return Ending("FAIL", f"unmeasurable: {reasons}")
        session.plan, session.goal = plan, goal
        name = "plan.json" if replan == 0 else f"plan.replan{replan}.json"
        session.folder.write_json(name, plan)
        session.folder.append("plan_accepted", replan=replan, attempt=attempt, file=name,
                              commands=[c.run for c in plan.commands], reason=reason)
        return plan
    last = feedback[-1] if feedback else "no plan"
    return Ending("FAIL", f"no valid plan after {session.config.max_plan_attempts} attempt(s). {last}")


def validate_plan(plan: Plan, goal: Goal, root: Path) -> Goal:
    """Return the effective goal, or raise :class:`PlanRejected` naming every defect."""
    try:
        full = effective_goal(plan, goal)
    except SpecError as exc:
        raise PlanRejected([f"resolved_targets: {exc}"]) from exc
    defects = (semantic_defects(plan, full) + service_defects(plan) + command_defects(plan, root)
               + instrument_defects(plan, full) + path_defects(plan))
    if defects:
        raise PlanRejected(defects)
    return full
