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
from remoroo.index.slice import build_slice, plan_entries
from remoroo.loop.hydration import ask
from remoroo.loop.planning import make_plan
from remoroo.loop.session import Ending, Session
from remoroo.loop.turn import audit_change
from remoroo.measure.once import measure
from remoroo.measure.repeat import baseline_repeats, measure_repeated, noise_floors, repeats_for
from remoroo.model.goal import is_number
from remoroo.patch.apply import apply_proposal
from remoroo.protocol.wire import FileView, InstrumentRequest, StateSummary


def prepare(session: Session) -> Ending | None:
    """Plan, then measure the baseline; an instrumentation that finds nothing goes back to the brain."""
    feedback: list[str] = []
    observations: dict[str, str] = {}
    for _ in range(session.config.max_plan_attempts):
        planned = make_plan(session, replan=0, reason=None, feedback=feedback, observations=observations)
        if isinstance(planned, Ending):
            return planned
        outcome = baseline(session)
        if not isinstance(outcome, Unsourced):
            return outcome
        instrumented = instrument(session, outcome)
        if isinstance(instrumented, Ending):
            return instrumented
        if instrumented:
            outcome = baseline(session)
            if not isinstance(outcome, Unsourced):
                return outcome
        feedback = [outcome.message]
        observations = dict(session.log_tails)
        session.folder.append("preflight_failed", missing=outcome.missing)
    missing = "; ".join(f"{m}: {r}" for m, r in outcome.missing.items())
    return Ending("FAIL", f"unmeasurable: the commands ran but no plan's instrumentation found a value ({missing})")


@dataclass(frozen=True)
class Unsourced:
    """The baseline ran, but some goal metric had no value."""

    missing: dict[str, str]

    @property
    def message(self) -> str:
        lines = [f"- {m}: {why}" for m, why in self.missing.items()]
        return ("The commands ran at baseline, but the instrumentation found no value for:\n" + "\n".join(lines)
                + "\nSee observations for what the commands printed; fix the instrumentation.")


def baseline(session: Session) -> Ending | Unsourced | None:
    assert session.plan is not None
    logs = session.folder.turn_dir(0) / "logs"
    plan = session.plan
    first = measure(plan, session.metrics, session.work_root, logs, session.env, session.budget.deadline)
    session.repeats = repeats_for(session.metrics, first.duration_s, session.config.repeats)
    result = measure_repeated(lambda where: measure(plan, session.metrics, session.work_root, where, session.env,
                                                    session.budget.deadline),
                              logs, baseline_repeats(session.repeats), session.budget.deadline, first=first)
    session.noise = session.noise.model_copy(update={"floors": noise_floors(result)})
    session.baseline = result
    session.kept_commit = session.start_commit
    session.kept_metrics, session.kept_runs = dict(result.metrics), result.code_runs
    session.note_measurement(result)
    session.folder.write_json("turns/0/metrics.json", result)
    session.folder.append(
        "baseline", metrics=result.metrics, missing=result.missing, flags=result.flags, spread=result.spread,
        repeats=result.repeats,
        duration_s=round(result.duration_s, 3),
        commands=result.command_summary(),
    )
    session.history = [h for h in session.history if h.turn != 0]
    session.witness(result, 0)
    session.history.append(StateSummary(label="baseline", turn=0, metrics=dict(result.metrics),
                                        decision="BASELINE", reason="the repository as given"))
    for target in session.goal.targets:
        ref = getattr(target.rhs, "metric", None)
        if getattr(target.rhs, "kind", "") == "baseline" and not is_number(result.metrics.get(ref)):
            why = result.missing.get(ref or "", "it is not a number")
            return Ending("FAIL", f"unmeasurable: {target.text!r} needs the baseline of {ref}, but {why}")
    if result.code_runs and result.missing:
        return Unsourced(dict(result.missing))
    return None


def instrument(session: Session, unsourced: Unsourced) -> Ending | bool:
    """Ask for an instrumentation patch; True once one is applied, audited and committed."""
    assert session.plan is not None
    plan = session.plan

    def build(hydrated: list[FileView], notes: list[str]) -> InstrumentRequest:
        index = session.repo_index()
        return InstrumentRequest(
            goal=session.goal_view(), plan=plan, missing=unsourced.missing, observations=dict(session.log_tails),
            context=build_slice(session.work_root, session.goal, session.config.context_budget_chars,
                                index, entries=plan_entries(plan, index)),
            history=session.history, feedback=notes, hydrated=hydrated)

    response = ask(session, build, session.brain.instrument, "instrument")
    if response.unmeasurable:
        names = ", ".join(unsourced.missing)
        return Ending("FAIL", f"unmeasurable: {names}: {response.unmeasurable}")
    if response.proposal is None:
        return False
    ws, start = session.workspace, session.start_commit
    ws.reset(start)
    try:
        apply_proposal(ws.root, response.proposal)
    except PatchRejected as exc:
        ws.reset(start)
        session.folder.append("instrumentation_rejected", message=str(exc))
        return False
    commit = ws.commit("remoroo instrumentation")
    files = ws.changed_files(start, commit)
    verdict = audit_change(session, start, commit, files)
    if not verdict.passed:
        ws.reset(start)
        session.folder.write_json("audit/instrumentation.json", verdict)
        session.folder.append("instrumentation_vetoed", reasons=[v.reason for v in verdict.vetoes])
        return False
    session.instrumentation_diff += ws.diff(start, commit)
    session.start_commit = commit
    (session.folder.root / "instrumentation.diff").write_text(session.instrumentation_diff, encoding="utf-8")
    session.folder.append("instrumented", files=files, rationale=response.proposal.rationale)
    return True
