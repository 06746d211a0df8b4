"""One turn: ask for a batch of candidates, then for each: patch → audit → run and measure → audit → decide.

Every candidate starts from the kept state. The audit reads the change before
anything runs (a veto is never measured), and, for preserved outputs, the
measurement before any number counts.
The best KEPT candidate becomes the new kept state; every other candidate is
reverted. If no candidate of a batch even applies, the brain gets the
failure messages back and may answer again (up to ``max_patch_reflections``).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from remoroo.audit import AuditFinding, AuditVerdict, churn_only
from remoroo.errors import PatchRejected
from remoroo.evidence.events import (
    CandidateDone,
    CandidateMeasured,
    CandidateStarted,
    CommandSummary,
    PatchesRejected,
    TurnDone,
)
from remoroo.exec.pool import LocalExecutor
from remoroo.index.slice import build_slice, plan_entries
from remoroo.loop.hydration import ask
from remoroo.loop.observe import (
    audit_change,
    frozen_tests,
    hollow_tests,
    log_tails,
    mark_frozen,
    measured_findings,
    protection,
    witnesses,
)
from remoroo.loop.sidebyside import measure_side_by_side, noisy_metrics
from remoroo.loop.state import Kept, Progress, RunContext, Setup
from remoroo.measure.once import Measurement
from remoroo.model.decide import Intervals, SideBySide, Verdict, is_met, judge_candidate, score
from remoroo.model.goal import Scalar
from remoroo.model.metrics import is_memory, is_timing
from remoroo.model.outcomes import AuditRule, Decision
from remoroo.model.patch import PatchProposal
from remoroo.model.witness import Witness
from remoroo.patch.apply import apply_proposal
from remoroo.protocol.wire import FileView, PatchRequest, StateSummary


@dataclass(frozen=True)
class GaveUp:
    reason: str


@dataclass
class Candidate:
    """One proposal as it goes through the turn's stages (owned by the turn, never shared)."""

    index: int
    proposal: PatchProposal
    verdict: Verdict
    commit: str = ""
    files: tuple[str, ...] = ()
    measurement: Measurement | None = None
    audit: AuditVerdict | None = None
    diff: str = ""
    where: Path | None = None
    tree: Path | None = None
    vs_base: Intervals = field(default_factory=dict)


@dataclass(frozen=True)
class TurnResult:
    """What one turn adds to the run's progress."""

    verdict: Verdict
    ran_ok: bool
    kept: Kept | None
    summaries: tuple[StateSummary, ...]
    log_tails: dict[str, str] = field(default_factory=dict)
    witnesses: tuple[Witness, ...] | None = None
    measured_goal: bool = False
    vetoed: frozenset[AuditRule] = frozenset()
    tests: int = 0


def run_turn(ctx: RunContext, setup: Setup, progress: Progress, turn: int) -> TurnResult | GaveUp:
    started = time.perf_counter()
    feedback: list[str] = []
    candidates: list[Candidate] = []
    summaries: list[StateSummary] = []
    for _ in range(ctx.config.max_patch_reflections + 1):
        if ctx.budgets.time_exhausted():
            return GaveUp("time budget used up")
        history = list(progress.history) + summaries

        def build(hydrated: list[FileView], notes: list[str], history: list[StateSummary] = history,
                  feedback: list[str] = feedback) -> PatchRequest:
            return _request(ctx, setup, progress, turn, history, feedback + notes, hydrated)

        response = ask(ctx, build, ctx.brain.patch, f"turn {turn}")
        if not response.proposals:
            return GaveUp(response.give_up or "no reason given")
        candidates = _evaluate_batch(ctx, setup, progress, turn, response.proposals[: ctx.config.batch_size],
                                     tests=progress.tests + len(summaries))
        if any(c.commit for c in candidates):
            break
        feedback = [c.verdict.reason for c in candidates]
        summaries += _record_candidates(ctx, turn, candidates)
        ctx.folder.append(PatchesRejected(turn=turn, messages=feedback))
    chosen = _choose(setup, candidates)
    for other in candidates:
        if other is not chosen and other.verdict.decision == "KEPT":
            other.verdict = other.verdict.model_copy(update={
                "decision": "REVERTED", "progress": False,
                "reason": f"{other.verdict.reason}, but candidate {chosen.index} was better"})
    summaries += _record_candidates(ctx, turn, candidates)
    kept = None
    if chosen.verdict.decision == "KEPT" and chosen.measurement is not None:
        kept = Kept(commit=chosen.commit, metrics=dict(chosen.measurement.metrics),
                    runs=chosen.measurement.code_runs, turn=turn, vs_base=dict(chosen.vs_base))
    ctx.workspace.reset(kept.commit if kept else progress.kept.commit)
    if kept is not None:
        ctx.index.current()  # the kept code changed: re-index it and regenerate the run's diagram
    found = None
    if chosen.measurement is not None:
        found = witnesses(ctx, setup, chosen.measurement, turn, chosen.tree or ctx.work_root)
    _record_turn(ctx, progress.replans, turn, chosen, len(candidates), time.perf_counter() - started)
    tails: dict[str, str] = {}
    for cand in candidates:
        if cand.measurement is not None:
            tails.update(log_tails(cand.measurement, cand.tree or ctx.work_root))
    measured = [c.measurement for c in candidates if c.measurement is not None]
    return TurnResult(
        verdict=chosen.verdict, ran_ok=any(m.code_runs for m in measured), kept=kept, summaries=tuple(summaries),
        log_tails=tails, witnesses=found,
        measured_goal=any(name in m.metrics for m in measured for name in setup.goal.metric_names),
        vetoed=frozenset(r for c in candidates for r in c.verdict.rules),
        tests=len(candidates) if noisy_metrics(setup) else 0)


def _request(ctx: RunContext, setup: Setup, progress: Progress, turn: int, history: list[StateSummary],
             feedback: list[str], hydrated: list[FileView]) -> PatchRequest:
    plan = setup.plan
    index = ctx.index.current()
    return PatchRequest(
        goal=ctx.goal_view(setup.goal), turn=turn, replan=progress.replans, plan=plan,
        context=mark_frozen(ctx, setup, build_slice(
            ctx.work_root, setup.goal, ctx.config.context_budget_chars, index, entries=plan_entries(plan, index),
            frames=[f"{f.file}:{f.line}" for w in progress.witnesses for f in w.stack],
            focus=[f.split(":", 1)[0] for intent in plan.patch_intents for f in intent.files],
            protected=protection(plan))),
        history=history, log_tails=progress.log_tails, feedback=feedback,
        max_candidates=ctx.config.batch_size, hydrated=hydrated, witnesses=list(progress.witnesses),
    )


def _evaluate_batch(ctx: RunContext, setup: Setup, progress: Progress, turn: int,
                    proposals: list[PatchProposal], tests: int = 0) -> list[Candidate]:
    """Every candidate of the batch, each on the kept state: side by side in worktrees when workers allow."""
    batch, kept = len(proposals), progress.kept
    timing = any(is_timing(m) for m in setup.metrics)
    workers = 1 if timing else min(ctx.config.workers, batch)
    if ctx.measurer.measures_away(setup.metrics):
        workers = min(ctx.measurer.remote_workers, batch)  # one candidate per worker of the cluster
    if workers <= 1:
        found = []
        for k, proposal in enumerate(proposals, start=1):
            ctx.workspace.reset(kept.commit)
            found.append(_try(ctx, setup, kept, turn, k, proposal, batch, ctx.work_root, tests + k))
        return found
    base = ctx.folder.root / "work-candidates" / str(turn)
    trees = [ctx.workspace.candidate_checkout(base / str(k), kept.commit) for k in range(1, batch + 1)]
    try:
        done = dict(LocalExecutor(workers).run(
            lambda k: _try(ctx, setup, kept, turn, k, proposals[k - 1], batch, trees[k - 1], tests + k),
            list(range(1, batch + 1))))
    finally:
        for tree in trees:
            ctx.workspace.remove_checkout(tree)
    results: list[Candidate] = []
    for i in range(batch):
        result = done[i]
        if isinstance(result, BaseException):
            raise result
        results.append(result)
    return results


def _try(ctx: RunContext, setup: Setup, kept: Kept, turn: int, index: int, proposal: PatchProposal, batch: int,
         tree: Path, test: int = 1) -> Candidate:
    """Patch, then run, measure, audit and decide one candidate."""
    ws = ctx.workspace
    tdir = ctx.folder.turn_dir(turn)
    where = tdir if batch == 1 else tdir / "candidates" / str(index)
    ctx.folder.append(CandidateStarted(turn=turn, candidate=index, of=batch, rationale=proposal.rationale[:300]))
    try:
        apply_proposal(tree, proposal)
    except PatchRejected as exc:
        return Candidate(index, proposal, _verdict("REJECTED", f"the patch did not apply: {exc}"), where=where)
    commit = ws.commit_in(tree, f"remoroo turn {turn} candidate {index}")
    candidate = Candidate(index, proposal, _verdict("REJECTED", ""), commit=commit,
                          files=tuple(ws.changed_files(kept.commit, commit)),
                          diff=ws.diff(kept.commit, commit), where=where, tree=tree)
    _evaluate(ctx, setup, kept, candidate, where / "logs", turn, test)
    measured = candidate.measurement
    ctx.folder.append(CandidateMeasured(turn=turn, candidate=index, decision=candidate.verdict.decision,
                                        reason=candidate.verdict.reason[:500],
                                        metrics=dict(measured.metrics) if measured else {}))
    return candidate


def _breaks_exact(setup: Setup, kept: Kept, measured: Measurement) -> bool:
    """A target on a deterministic metric (not a timing) that the kept state meets and this run does not."""
    noisy = set(noisy_metrics(setup))
    return any(is_met(t, kept.metrics, setup.baseline_metrics, setup.noise) and
               not is_met(t, dict(measured.metrics), setup.baseline_metrics, setup.noise)
               for t in setup.goal.targets if t.metric not in noisy and not is_timing(t.metric)
               and not is_memory(t.metric))


def _verdict(decision: Decision, reason: str, rules: list[AuditRule] | None = None) -> Verdict:
    return Verdict(decision=decision, progress=False, reason=reason, rules=rules or [])


def _evaluate(ctx: RunContext, setup: Setup, kept: Kept, cand: Candidate, logs: Path, turn: int,
              test: int = 1) -> None:
    files = list(cand.files)
    if not files:
        cand.verdict = _verdict("REJECTED", "the patch changed nothing")
        return
    verdict = audit_change(ctx, setup, kept.commit, cand.commit, files)
    cand.audit = verdict
    if not verdict.passed:
        _veto(ctx, turn, cand, verdict.vetoes)
        return
    if churn_only(files):
        cand.verdict = _verdict("REVERTED", f"documentation-only change ({', '.join(files)}) is not progress")
        return
    side = SideBySide()
    if noisy_metrics(setup):  # timings: the kept state runs alongside, in the same time window
        reference = ctx.workspace.candidate_checkout(
            ctx.folder.root / "work-candidates" / f"kept-{turn}-{cand.index}", kept.commit)
        try:
            paired = measure_side_by_side(ctx, setup, reference, cand.tree or ctx.work_root, logs, test,
                                          kept.vs_base, hopeless=partial(_breaks_exact, setup, kept))
        finally:
            ctx.workspace.remove_checkout(reference)
        measurement = paired.new
        cand.vs_base = {m: iv.scaled(kept.vs_base[m]) if m in kept.vs_base else iv
                        for m, iv in paired.intervals.items()}
        side = SideBySide(old_vs_base=dict(kept.vs_base), new_vs_base=dict(cand.vs_base),
                          new_vs_old=dict(paired.intervals))
    else:
        measurement = ctx.measurer.measure(setup.plan, setup.metrics, cand.tree or ctx.work_root, logs,
                                           repeats=setup.repeats, deadline=ctx.budgets.deadline, away=True)
    measurement = frozen_tests(setup, measurement)
    cand.measurement = measurement
    after = measured_findings(ctx, setup, measurement)
    hollow = hollow_tests(ctx, setup, cand.commit, files, measurement, logs.parent / "mutant-logs")
    if hollow is not None:
        after.append(hollow)
    verdict.findings += after
    verdict.passed = verdict.passed and all(f.passed for f in after)
    cand.audit = verdict
    if not verdict.passed:
        _veto(ctx, turn, cand, verdict.vetoes)
        return
    decided = judge_candidate(setup.goal, kept.metrics, kept.runs, measurement.metrics, measurement.code_runs,
                              setup.baseline_metrics, setup.noise, side)
    if measurement.problems and decided.decision != "KEPT":
        decided = decided.model_copy(update={"reason": "; ".join(measurement.problems) + "; " + decided.reason})
    cand.verdict = decided


def _veto(ctx: RunContext, turn: int, cand: Candidate, vetoes: list[AuditFinding]) -> None:
    ctx.folder.write_json(f"audit/turn-{turn}-{cand.index}.json", cand.audit)
    rules: list[AuditRule] = sorted({v.rule for v in vetoes})
    reasons = "; ".join(v.reason for v in vetoes)
    cand.verdict = _verdict("VETOED", f"vetoed: {', '.join(rules)}: {reasons}", rules)


_ORDER = {"KEPT": 0, "REVERTED": 1, "VETOED": 2, "REJECTED": 3, "BASELINE": 4}


def _choose(setup: Setup, candidates: list[Candidate]) -> Candidate:
    """The best KEPT candidate by score; else the most informative failure."""
    def key(c: Candidate) -> tuple[int, tuple[int, float], int]:
        metrics = c.measurement.metrics if c.measurement else {}
        met, penalty = score(setup.goal, metrics, setup.baseline_metrics, setup.noise)
        return (_ORDER[c.verdict.decision], (-met, -penalty), c.index)

    return min(candidates, key=key)


def _write_evidence(where: Path, cand: Candidate) -> None:
    where.mkdir(parents=True, exist_ok=True)
    (where / "patch.diff").write_text(cand.diff, encoding="utf-8")
    if cand.measurement:
        (where / "metrics.json").write_text(cand.measurement.model_dump_json(indent=2), encoding="utf-8")
    (where / "decision.json").write_text(cand.verdict.model_dump_json(indent=2), encoding="utf-8")


def _record_candidates(ctx: RunContext, turn: int, candidates: list[Candidate]) -> list[StateSummary]:
    """Each candidate's evidence and ledger event; returns what the brain will see of them."""
    summaries = []
    for cand in candidates:
        _write_evidence(cand.where or ctx.folder.turn_dir(turn), cand)
        m = cand.measurement
        metrics: dict[str, Scalar | None] = dict(m.metrics) if m else {}
        ctx.folder.append(CandidateDone(
            turn=turn, candidate=cand.index, files=list(cand.files), decision=cand.verdict.decision,
            reason=cand.verdict.reason, rules=cand.verdict.rules, metrics=metrics, audit=cand.audit,
            rationale=cand.proposal.rationale,
            patch_hash=hashlib.sha256(cand.diff.encode()).hexdigest()[:16] if cand.diff else None,
            missing=m.missing if m else {}, flags=m.flags if m else [], spread=m.spread if m else {},
            commands=[CommandSummary.model_validate(c) for c in m.command_summary()] if m else [],
        ))
        summaries.append(StateSummary(
            label=f"turn {turn}" + (f" candidate {cand.index}" if cand.index > 1 else ""), turn=turn,
            candidate=cand.index, metrics=metrics, decision=cand.verdict.decision, reason=cand.verdict.reason,
            files=list(cand.files), rationale=cand.proposal.rationale,
        ))
    return summaries


def _record_turn(ctx: RunContext, replans: int, turn: int, chosen: Candidate, batch: int, duration_s: float) -> None:
    if batch > 1:  # the turn folder describes the chosen candidate
        _write_evidence(ctx.folder.turn_dir(turn), chosen)
    m = chosen.measurement
    ctx.folder.append(TurnDone(
        turn=turn, replan=replans, candidates=batch, chosen=chosen.index, files=list(chosen.files),
        metrics=dict(m.metrics) if m else {}, decision=chosen.verdict.decision, reason=chosen.verdict.reason,
        spread=m.spread if m else {}, duration_s=round(duration_s, 3),
    ))

