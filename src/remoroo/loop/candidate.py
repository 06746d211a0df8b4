"""One candidate: patch → syntax check → audit → run and measure → audit → decide, on a tree of the kept state.

A batch is measured one after another in the workspace, or side by side in
worktrees when workers allow (never for timing goals). A patched Python file
that no longer parses is REJECTED with the compiler's message before
anything is committed or audited: a slip to repair, never a cheat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from remoroo.audit import AuditFinding, AuditVerdict, churn_only
from remoroo.errors import PatchRejected
from remoroo.evidence.events import CandidateMeasured, CandidateStarted
from remoroo.exec.pool import LocalExecutor
from remoroo.loop.observe import audit_change, frozen_tests, hollow_tests, measured_findings
from remoroo.loop.sidebyside import measure_side_by_side, noisy_metrics
from remoroo.loop.state import Kept, RunContext, Setup
from remoroo.measure.once import Measurement
from remoroo.model.decide import Intervals, SideBySide, Verdict, is_met, judge_candidate
from remoroo.model.metrics import is_memory, is_timing
from remoroo.model.outcomes import AuditRule, Decision
from remoroo.model.patch import PatchProposal
from remoroo.patch.apply import apply_proposal
from remoroo.patch.syntax import syntax_error


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


def evaluate_batch(ctx: RunContext, setup: Setup, kept: Kept, turn: int, proposals: list[PatchProposal],
                   tests: int = 0, first: int = 1, of: int | None = None) -> list[Candidate]:
    """Every candidate of the batch, each on the kept state: side by side in worktrees when workers allow.

    Candidates are numbered from ``first`` in a turn of ``of`` candidates so far (repairs and stacks come after
    the batch, in folders of their own).
    """
    batch = len(proposals)
    total = of if of is not None else batch
    numbers = list(range(first, first + batch))
    timing = any(is_timing(m) for m in setup.metrics)
    workers = 1 if timing else min(ctx.config.workers, batch)
    if ctx.measurer.measures_away(setup.metrics):
        workers = min(ctx.measurer.remote_workers, batch)  # one candidate per worker of the cluster
    if workers <= 1:
        found = []
        for k, proposal in zip(numbers, proposals, strict=True):
            ctx.workspace.reset(kept.commit)
            found.append(_try(ctx, setup, kept, turn, k, proposal, total, ctx.work_root, tests + k - first + 1))
        ctx.workspace.reset(kept.commit)  # the brain is asked again (reflection, repair) about the kept state
        return found
    base = ctx.folder.root / "work-candidates" / str(turn)

    def one(k: int) -> Candidate:  # a worktree per worker: the one a candidate is done with serves the next
        tree = ctx.workspace.candidate_checkout(base / str(k), kept.commit)
        try:
            return _try(ctx, setup, kept, turn, k, proposals[k - first], total, tree, tests + k - first + 1)
        finally:
            ctx.workspace.remove_checkout(tree)

    done = dict(LocalExecutor(workers).run(one, numbers))
    results: list[Candidate] = []
    for i in range(batch):
        result = done[i]
        if isinstance(result, BaseException):
            raise result
        results.append(result)
    return results


def worktrees_wanted(ctx: RunContext, setup: Setup) -> int:
    """How many candidate worktrees a full batch uses at once: one per worker side by side, one more per
    worker for the kept state where timings are measured alongside; none when measured on a cluster."""
    batch = ctx.config.batch_size
    if ctx.measurer.measures_away(setup.metrics):
        return 0
    workers = 1 if any(is_timing(m) for m in setup.metrics) else min(ctx.config.workers, batch)
    trees = workers if workers > 1 else 0  # a single worker patches the main tree
    return trees + (max(1, trees) if noisy_metrics(setup) else 0)


def _try(ctx: RunContext, setup: Setup, kept: Kept, turn: int, index: int, proposal: PatchProposal, batch: int,
         tree: Path, test: int = 1) -> Candidate:
    """Patch, then run, measure, audit and decide one candidate."""
    ws = ctx.workspace
    tdir = ctx.folder.turn_dir(turn)
    where = tdir if batch == 1 else tdir / "candidates" / str(index)
    ctx.folder.append(CandidateStarted(turn=turn, candidate=index, of=batch, rationale=proposal.rationale[:300]))
    try:
        touched = apply_proposal(tree, proposal)
    except PatchRejected as exc:
        return Candidate(index, proposal, decided("REJECTED", f"the patch did not apply: {exc}"), where=where)
    broken = syntax_error(tree, touched, lambda path: ws.read_at(kept.commit, path))
    if broken:
        return Candidate(index, proposal, decided("REJECTED", f"syntax error: {broken}"), where=where)
    commit = ws.commit_in(tree, f"remoroo turn {turn} candidate {index}")
    files, diff = ws.change(kept.commit, commit)
    candidate = Candidate(index, proposal, decided("REJECTED", ""), commit=commit, files=tuple(files), diff=diff,
                          where=where, tree=tree)
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


def decided(decision: Decision, reason: str, rules: list[AuditRule] | None = None) -> Verdict:
    return Verdict(decision=decision, progress=False, reason=reason, rules=rules or [])


def _evaluate(ctx: RunContext, setup: Setup, kept: Kept, cand: Candidate, logs: Path, turn: int,
              test: int = 1) -> None:
    files = list(cand.files)
    if not files:
        cand.verdict = decided("REJECTED", "the patch changed nothing")
        return
    verdict = audit_change(ctx, setup, kept.commit, cand.commit, files)
    cand.audit = verdict
    if not verdict.passed:
        _veto(ctx, turn, cand, verdict.vetoes)
        return
    if churn_only(files):
        cand.verdict = decided("REVERTED", f"documentation-only change ({', '.join(files)}) is not progress")
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
    judged = judge_candidate(setup.goal, kept.metrics, kept.runs, measurement.metrics, measurement.code_runs,
                              setup.baseline_metrics, setup.noise, side)
    if measurement.problems and judged.decision != "KEPT":
        judged = judged.model_copy(update={"reason": "; ".join(measurement.problems) + "; " + judged.reason})
    cand.verdict = judged


def _veto(ctx: RunContext, turn: int, cand: Candidate, vetoes: list[AuditFinding]) -> None:
    ctx.folder.write_json(f"audit/turn-{turn}-{cand.index}.json", cand.audit)
    rules: list[AuditRule] = sorted({v.rule for v in vetoes})
    reasons = "; ".join(v.reason for v in vetoes)
    cand.verdict = decided("VETOED", f"vetoed: {', '.join(rules)}: {reasons}", rules)


