"""Plan stage: ask the brain for a plan until one validates, or end clearly."""

from __future__ import annotations

from remoroo.brain.protocol import CommandCandidate, ContextSlice, FileView, PlanRequest
from remoroo.context import build_slice
from remoroo.discovery import discover_commands
from remoroo.errors import PlanRejected
from remoroo.hydration import ask
from remoroo.plan import Plan, validate_plan
from remoroo.session import Ending, Session


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
