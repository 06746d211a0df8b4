"""One turn: propose a patch, apply it, audit it, measure it, decide on it."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from remoroo.audit import audit, churn_only
from remoroo.brain.protocol import PatchRequest, StateSummary
from remoroo.context import build_slice
from remoroo.decide import Verdict, judge_candidate
from remoroo.errors import PatchRejected
from remoroo.measure import Measurement, measure
from remoroo.patch import apply_proposal
from remoroo.session import Session


@dataclass(frozen=True)
class GaveUp:
    reason: str


@dataclass(frozen=True)
class TurnResult:
    verdict: Verdict
    ran_ok: bool


def run_turn(session: Session, turn: int) -> TurnResult | GaveUp:
    started = time.perf_counter()
    applied = _propose_and_apply(session, turn)
    if isinstance(applied, GaveUp):
        return applied
    ws, kept = session.workspace, session.kept_commit
    measurement: Measurement | None = None
    files: list[str] = []
    audit_record: dict[str, object] | None = None
    if isinstance(applied, Verdict):
        verdict = applied
    else:
        candidate = ws.commit(f"remoroo turn {turn}")
        files = ws.changed_files(kept, candidate)
        diff = ws.diff(kept, candidate)
        (session.folder.turn_dir(turn) / "patch.diff").write_text(diff, encoding="utf-8")
        verdict, measurement, audit_record = _evaluate(session, turn, candidate, files)
        if verdict.decision == "KEPT":
            session.kept_commit, session.kept_turn = candidate, turn
            session.kept_metrics = dict(measurement.metrics) if measurement else {}
            session.kept_runs = bool(measurement and measurement.code_runs)
        else:
            ws.reset(kept)
    _record(session, turn, verdict, measurement, files, audit_record, time.perf_counter() - started)
    return TurnResult(verdict=verdict, ran_ok=bool(measurement and measurement.code_runs))


def _propose_and_apply(session: Session, turn: int) -> list[str] | Verdict | GaveUp:
    """Ask for a patch, feeding back apply failures; the touched files, a REJECTED verdict, or GaveUp."""
    feedback: list[str] = []
    assert session.plan is not None
    for attempt in range(1, session.config.max_patch_reflections + 2):
        if session.budget.time_exhausted():
            return GaveUp("time budget used up")
        request = PatchRequest(
            goal=session.goal_view(), turn=turn, replan=session.replans, plan=session.plan,
            context=build_slice(session.work_root, session.goal, session.config.context_budget_chars),
            history=session.history, log_tails=session.log_tails, feedback=feedback,
        )
        response = session.brain.patch(request)
        if response.proposal is None:
            return GaveUp(response.give_up or "no reason given")
        session.workspace.reset(session.kept_commit)
        try:
            return apply_proposal(session.work_root, response.proposal)
        except PatchRejected as exc:
            session.workspace.reset(session.kept_commit)
            session.folder.append("patch_rejected", turn=turn, attempt=attempt, message=str(exc))
            feedback.append(str(exc))
    return Verdict(decision="REJECTED", progress=False,
                   reason=f"the patch did not apply after {len(feedback)} attempt(s): {feedback[-1][:300]}")


def _evaluate(session: Session, turn: int, candidate: str,
              files: list[str]) -> tuple[Verdict, Measurement | None, dict[str, object] | None]:
    assert session.plan is not None
    if not files:
        return Verdict(decision="REJECTED", progress=False, reason="the patch changed nothing"), None, None
    verdict = audit(session.plan, files)
    record = verdict.model_dump(mode="json")
    if not verdict.passed:
        session.folder.write_json(f"audit/turn-{turn}.json", record)
        rules = ", ".join(sorted({v.rule for v in verdict.vetoes}))
        reasons = "; ".join(v.reason for v in verdict.vetoes)
        return Verdict(decision="VETOED", progress=False, reason=f"vetoed: {rules}: {reasons}"), None, record
    if churn_only(files):
        return Verdict(decision="REVERTED", progress=False,
                       reason=f"documentation-only change ({', '.join(files)}) is not progress"), None, record
    logs = session.folder.turn_dir(turn) / "logs"
    measurement = measure(session.plan, session.metrics, session.work_root, logs, session.env,
                          session.budget.deadline)
    session.note_measurement(measurement)
    verdict_ = judge_candidate(session.goal, session.kept_metrics, session.kept_runs, measurement.metrics,
                               measurement.code_runs, session.baseline_metrics, session.noise)
    if measurement.timed_out and verdict_.decision != "KEPT":
        verdict_ = verdict_.model_copy(update={"reason": "a command timed out; " + verdict_.reason})
    return verdict_, measurement, record


def _record(session: Session, turn: int, verdict: Verdict, measurement: Measurement | None, files: list[str],
            audit_record: dict[str, object] | None, duration_s: float) -> None:
    folder = session.folder
    tdir = folder.turn_dir(turn)
    diff_path = tdir / "patch.diff"
    patch_hash = hashlib.sha256(diff_path.read_bytes()).hexdigest()[:16] if diff_path.exists() else None
    metrics = measurement.metrics if measurement else {}
    if measurement:
        folder.write_json(f"turns/{turn}/metrics.json", measurement)
    folder.write_json(f"turns/{turn}/decision.json", verdict)
    folder.append(
        "turn", turn=turn, replan=session.replans, files=files, patch_hash=patch_hash, metrics=metrics,
        missing=measurement.missing if measurement else {}, audit=audit_record, decision=verdict.decision,
        reason=verdict.reason, duration_s=round(duration_s, 3),
        commands=[{"name": c.name, "exit_code": c.exit_code, "timed_out": c.timed_out,
                   "duration_s": round(c.duration_s, 3)} for c in measurement.commands] if measurement else [],
    )
    session.history.append(StateSummary(label=f"turn {turn}", turn=turn, metrics=dict(metrics),
                                        decision=verdict.decision, reason=verdict.reason, files=files))
