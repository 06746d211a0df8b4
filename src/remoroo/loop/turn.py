"""One turn: ask for a batch of candidates, then for each: apply, audit, measure, decide.

The best KEPT candidate becomes the new kept state; every other candidate is
reverted. If no candidate of a batch even applies, the brain gets the
failure messages back and may answer again (up to ``max_patch_reflections``).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from remoroo.audit import AuditContext, AuditVerdict, audit, check_preserved, churn_only
from remoroo.audit.paths import why_protected
from remoroo.errors import PatchRejected
from remoroo.exec.pool import LocalExecutor
from remoroo.index.slice import build_slice, list_files, plan_entries
from remoroo.loop.hydration import ask
from remoroo.loop.session import Session
from remoroo.measure.once import Measurement
from remoroo.model.decide import Verdict, judge_candidate, score
from remoroo.model.metrics import is_timing
from remoroo.model.patch import PatchProposal
from remoroo.patch.apply import apply_proposal
from remoroo.protocol.wire import FileView, PatchRequest, StateSummary


@dataclass(frozen=True)
class GaveUp:
    reason: str


@dataclass
class Candidate:
    index: int
    proposal: PatchProposal
    verdict: Verdict
    commit: str = ""
    files: tuple[str, ...] = ()
    measurement: Measurement | None = None
    audit: dict[str, object] | None = None
    diff: str = ""
    where: Path | None = None
    tree: Path | None = None


@dataclass(frozen=True)
class TurnResult:
    verdict: Verdict
    ran_ok: bool


def run_turn(session: Session, turn: int) -> TurnResult | GaveUp:
    started = time.perf_counter()
    feedback: list[str] = []
    candidates: list[Candidate] = []
    for _ in range(session.config.max_patch_reflections + 1):
        if session.budget.time_exhausted():
            return GaveUp("time budget used up")
        response = ask(session, lambda hydrated, notes, fb=feedback: _request(session, turn, fb + notes, hydrated),
                       session.brain.patch, f"turn {turn}")
        if not response.proposals:
            return GaveUp(response.give_up or "no reason given")
        candidates = _evaluate_batch(session, turn, response.proposals[: session.config.batch_size])
        if any(c.commit for c in candidates):
            break
        feedback = [c.verdict.reason for c in candidates]
        _record_candidates(session, turn, candidates)
        session.folder.append("patch_rejected", turn=turn, messages=feedback)
    chosen = _choose(session, candidates)
    for other in candidates:
        if other is not chosen and other.verdict.decision == "KEPT":
            other.verdict = other.verdict.model_copy(update={
                "decision": "REVERTED", "progress": False,
                "reason": f"{other.verdict.reason}, but candidate {chosen.index} was better"})
    _record_candidates(session, turn, candidates)
    if chosen.verdict.decision == "KEPT":
        session.kept_commit, session.kept_turn = chosen.commit, turn
        session.kept_metrics = dict(chosen.measurement.metrics) if chosen.measurement else {}
        session.kept_runs = bool(chosen.measurement and chosen.measurement.code_runs)
    session.workspace.reset(session.kept_commit)
    if chosen.verdict.decision == "KEPT":
        session.repo_index()  # the kept code changed: re-index it and regenerate the run's diagram
    _record_turn(session, turn, chosen, len(candidates), time.perf_counter() - started)
    ran_ok = any(c.measurement is not None and c.measurement.code_runs for c in candidates)
    return TurnResult(verdict=chosen.verdict, ran_ok=ran_ok)


def _request(session: Session, turn: int, feedback: list[str], hydrated: list[FileView]) -> PatchRequest:
    assert session.plan is not None
    index = session.repo_index()
    return PatchRequest(
        goal=session.goal_view(), turn=turn, replan=session.replans, plan=session.plan,
        context=build_slice(session.work_root, session.goal, session.config.context_budget_chars,
                            index, entries=plan_entries(session.plan, index),
                            frames=[f"{f.file}:{f.line}" for w in session.witnesses for f in w.stack],
                            focus=[f for intent in session.plan.patch_intents for f in intent.files]),
        history=session.history, log_tails=session.log_tails, feedback=feedback,
        max_candidates=session.config.batch_size, hydrated=hydrated, witnesses=session.witnesses,
    )


def _evaluate_batch(session: Session, turn: int, proposals: list[PatchProposal]) -> list[Candidate]:
    """Every candidate of the batch, each on the kept state: side by side in worktrees when workers allow."""
    batch = len(proposals)
    timing = any(is_timing(m) for m in session.metrics)
    workers = 1 if timing else min(session.config.workers, batch)
    if session.measures_away:
        assert session.remote is not None
        workers = min(session.remote.workers, batch)  # one candidate per worker of the cluster
    if workers <= 1:
        found = []
        for k, proposal in enumerate(proposals, start=1):
            session.workspace.reset(session.kept_commit)
            found.append(_try(session, turn, k, proposal, batch, session.work_root))
    else:
        base = session.folder.root / "work-candidates" / str(turn)
        trees = [session.workspace.candidate_checkout(base / str(k), session.kept_commit) for k in range(1, batch + 1)]
        try:
            done = dict(LocalExecutor(workers).run(
                lambda k: _try(session, turn, k, proposals[k - 1], batch, trees[k - 1]), list(range(1, batch + 1))))
            for result in done.values():
                if isinstance(result, BaseException):
                    raise result
            found = [done[i] for i in range(batch)]  # type: ignore[misc]
        finally:
            for tree in trees:
                session.workspace.remove_checkout(tree)
    for cand in found:
        if cand.measurement is not None:
            session.note_measurement(cand.measurement, cand.tree)
    return found


def _try(session: Session, turn: int, index: int, proposal: PatchProposal, batch: int, tree: Path) -> Candidate:
    ws = session.workspace
    where = _where(session, turn, index, batch)
    try:
        apply_proposal(tree, proposal)
    except PatchRejected as exc:
        return Candidate(index, proposal, Verdict(decision="REJECTED", progress=False,
                                                  reason=f"the patch did not apply: {exc}"), where=where)
    commit = ws.commit_in(tree, f"remoroo turn {turn} candidate {index}")
    candidate = Candidate(index, proposal, Verdict(decision="REJECTED", progress=False, reason=""), commit=commit,
                          files=tuple(ws.changed_files(session.kept_commit, commit)),
                          diff=ws.diff(session.kept_commit, commit), where=where, tree=tree)
    _evaluate(session, candidate, where / "logs", turn)
    return candidate


def _where(session: Session, turn: int, index: int, batch: int) -> Path:
    tdir = session.folder.turn_dir(turn)
    return tdir if batch == 1 else tdir / "candidates" / str(index)


def _evaluate(session: Session, cand: Candidate, logs: Path, turn: int) -> None:
    assert session.plan is not None
    files = list(cand.files)
    if not files:
        cand.verdict = Verdict(decision="REJECTED", progress=False, reason="the patch changed nothing")
        return
    verdict = audit_change(session, session.kept_commit, cand.commit, files)
    cand.audit = verdict.model_dump(mode="json")
    if not verdict.passed:
        _veto(session, turn, cand, verdict)
        return
    if churn_only(files):
        cand.verdict = Verdict(decision="REVERTED", progress=False,
                               reason=f"documentation-only change ({', '.join(files)}) is not progress")
        return
    measurement = session.measure(cand.tree or session.work_root, logs, away=True)
    cand.measurement = measurement
    if session.plan.preserve:
        preserved = check_preserved(session.plan, dict(session.baseline_metrics), dict(measurement.metrics))
        verdict.findings.append(preserved)
        verdict.passed = verdict.passed and preserved.passed
        cand.audit = verdict.model_dump(mode="json")
        if not preserved.passed:
            _veto(session, turn, cand, verdict)
            return
    verdict_ = judge_candidate(session.goal, session.kept_metrics, session.kept_runs, measurement.metrics,
                               measurement.code_runs, session.baseline_metrics, session.noise)
    if measurement.problems and verdict_.decision != "KEPT":
        verdict_ = verdict_.model_copy(update={"reason": "; ".join(measurement.problems) + "; " + verdict_.reason})
    cand.verdict = verdict_


def _veto(session: Session, turn: int, cand: Candidate, verdict: AuditVerdict) -> None:
    session.folder.write_json(f"audit/turn-{turn}-{cand.index}.json", cand.audit)
    rules = ", ".join(sorted({v.rule for v in verdict.vetoes}))
    reasons = "; ".join(v.reason for v in verdict.vetoes)
    cand.verdict = Verdict(decision="VETOED", progress=False, reason=f"vetoed: {rules}: {reasons}")


def vetoed_rules(history: list[StateSummary]) -> list[str]:
    """The audit rules behind every VETOED candidate (read back from the reason ``_veto`` writes)."""
    rules = {r.strip() for h in history if h.decision == "VETOED" for r in h.reason.split(":", 2)[1].split(",")}
    return sorted(rules)


def audit_change(session: Session, old: str, new: str, files: list[str]) -> AuditVerdict:
    """Audit the change between two commits of the workspace."""
    assert session.plan is not None
    ws = session.workspace
    if session.harness_text is None:
        session.harness_text = _harness_text(session)
    return audit(AuditContext(
        plan=session.plan, goal=session.goal,
        before={f: ws.read_at(old, f) for f in files}, after={f: ws.read_at(new, f) for f in files},
        baseline=dict(session.baseline_metrics), allowed=tuple(session.config.allow_paths),
        harness_text=session.harness_text,
    ))


def _harness_text(session: Session, limit: int = 200_000) -> str:
    """The protected Python files (tests, benchmarks, evaluators) as they were: their literals are inputs."""
    assert session.plan is not None
    parts: list[str] = []
    for path in list_files(session.workspace.root):
        rel = path.relative_to(session.workspace.root).as_posix()
        if rel.endswith(".py") and why_protected(rel, session.plan) and sum(map(len, parts)) < limit:
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(parts)


_ORDER = {"KEPT": 0, "REVERTED": 1, "VETOED": 2, "REJECTED": 3}


def _choose(session: Session, candidates: list[Candidate]) -> Candidate:
    """The best KEPT candidate by score; else the most informative failure."""
    def key(c: Candidate) -> tuple[int, tuple[int, float], int]:
        metrics = c.measurement.metrics if c.measurement else {}
        met, penalty = score(session.goal, metrics, session.baseline_metrics, session.noise)
        return (_ORDER[c.verdict.decision], (-met, -penalty), c.index)

    return min(candidates, key=key)


def _record_candidates(session: Session, turn: int, candidates: list[Candidate]) -> None:
    for cand in candidates:
        _record_candidate(session, turn, cand)


def _write_evidence(where: Path, cand: Candidate) -> None:
    where.mkdir(parents=True, exist_ok=True)
    (where / "patch.diff").write_text(cand.diff, encoding="utf-8")
    if cand.measurement:
        (where / "metrics.json").write_text(cand.measurement.model_dump_json(indent=2), encoding="utf-8")
    (where / "decision.json").write_text(cand.verdict.model_dump_json(indent=2), encoding="utf-8")


def _record_candidate(session: Session, turn: int, cand: Candidate) -> None:
    _write_evidence(cand.where or session.folder.turn_dir(turn), cand)
    metrics = cand.measurement.metrics if cand.measurement else {}
    session.folder.append(
        "candidate", turn=turn, candidate=cand.index, files=list(cand.files), decision=cand.verdict.decision,
        reason=cand.verdict.reason, metrics=metrics, audit=cand.audit, rationale=cand.proposal.rationale,
        patch_hash=hashlib.sha256(cand.diff.encode()).hexdigest()[:16] if cand.diff else None,
        missing=cand.measurement.missing if cand.measurement else {},
        flags=cand.measurement.flags if cand.measurement else [],
        spread=cand.measurement.spread if cand.measurement else {},
        commands=cand.measurement.command_summary() if cand.measurement else [],
    )
    session.history.append(StateSummary(
        label=f"turn {turn}" + (f" candidate {cand.index}" if cand.index > 1 else ""), turn=turn,
        candidate=cand.index, metrics=dict(metrics), decision=cand.verdict.decision, reason=cand.verdict.reason,
        files=list(cand.files), rationale=cand.proposal.rationale,
    ))


def _record_turn(session: Session, turn: int, chosen: Candidate, batch: int, duration_s: float) -> None:
    if batch > 1:  # the turn folder describes the chosen candidate
        _write_evidence(session.folder.turn_dir(turn), chosen)
    if chosen.measurement is not None:
        session.witness(chosen.measurement, turn, chosen.tree)
    metrics = chosen.measurement.metrics if chosen.measurement else {}
    session.folder.append(
        "turn", turn=turn, replan=session.replans, candidates=batch, chosen=chosen.index, files=list(chosen.files),
        metrics=metrics, decision=chosen.verdict.decision, reason=chosen.verdict.reason,
        spread=chosen.measurement.spread if chosen.measurement else {},
        duration_s=round(duration_s, 3),
    )
