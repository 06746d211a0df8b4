"""One turn: ask for a batch of candidates, measure each on the kept state, keep the best, repair, stack.

Every candidate starts from the kept state (``loop/candidate.py``). The best
KEPT candidate becomes the new kept state; every other candidate is reverted.
Around that:
- If no candidate of a batch even applies, the brain gets the failure
  messages back and may answer again (up to ``max_patch_reflections``).
- Proposals that make the same change (up to whitespace) as an earlier one
  of the turn are dropped before anything runs.
- When nothing was kept and a candidate crashed (or timed out, when the run
  has the time) where the kept state runs, the brain is asked once to repair
  it (``PatchRequest.repair``).
- When a second candidate also improved and touches other files, it is tried
  stacked on the first.
The brain sees each candidate's own diff and error in its history entry;
``log_tails`` and witnesses stay the kept state's.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from remoroo.evidence.events import CandidateDone, CommandSummary, PatchesRejected, TurnDone
from remoroo.index.slice import build_slice, plan_entries
from remoroo.loop.candidate import Candidate, decided, evaluate_batch, worktrees_wanted
from remoroo.loop.hydration import ask
from remoroo.loop.observe import log_tails, mark_frozen, protection, witnesses
from remoroo.loop.sidebyside import noisy_metrics
from remoroo.loop.state import Kept, Progress, RunContext, Setup
from remoroo.measure.once import Measurement
from remoroo.measure.witness import relative
from remoroo.model.decide import Verdict, is_met, score
from remoroo.model.goal import Scalar
from remoroo.model.outcomes import AuditRule
from remoroo.model.patch import PatchProposal, fingerprint
from remoroo.model.witness import Witness
from remoroo.protocol.wire import FileView, PatchRequest, StateSummary

DIFF_LINES = 40
ERROR_LINES = 15


@dataclass(frozen=True)
class GaveUp:
    reason: str


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
    pinned: tuple[str, ...] = ()


@dataclass
class _Turn:
    """The turn's own record while it runs: its candidates and what the brain has seen of them."""

    candidates: list[Candidate] = field(default_factory=list)
    summaries: list[StateSummary] = field(default_factory=list)
    recorded: set[int] = field(default_factory=set)
    seen: dict[str, int] = field(default_factory=dict)
    pinned: tuple[str, ...] = ()  # the files asked for so far: carried to every later request


def run_turn(ctx: RunContext, setup: Setup, progress: Progress, turn: int) -> TurnResult | GaveUp:
    started = time.perf_counter()
    state = _Turn(pinned=progress.pinned)
    asked = _batch(ctx, setup, progress, turn, state)
    if isinstance(asked, GaveUp):
        return asked
    if not any(c.verdict.decision == "KEPT" for c in state.candidates):
        _repair(ctx, setup, progress, turn, state)
    chosen = _choose(setup, state.candidates)
    improving = [c for c in state.candidates if c is not chosen and c.verdict.decision == "KEPT"]
    for other in state.candidates:
        if other is not chosen and other.verdict.decision == "KEPT":
            other.verdict = other.verdict.model_copy(update={
                "decision": "REVERTED", "progress": False,
                "reason": f"{other.verdict.reason}, but candidate {chosen.index} was better"})
    kept = _kept(chosen, turn)
    progressed = chosen.verdict.progress
    if kept is not None:
        stacked = _stack(ctx, setup, progress, turn, state, chosen, kept, improving)
        if stacked is not None and stacked.verdict.decision == "KEPT":
            chosen.verdict = chosen.verdict.model_copy(update={
                "reason": f"{chosen.verdict.reason}; then stacked with another change as candidate {stacked.index}"})
            chosen, kept = stacked, _kept(stacked, turn)
    _record(ctx, turn, state)
    ctx.workspace.reset(kept.commit if kept else progress.kept.commit)
    if kept is not None:
        ctx.index.current(kept.commit)  # the kept code changed: re-index it and regenerate the run's diagram
    found = None
    if chosen.measurement is not None:  # written as evidence always; shown to the brain only for the kept state
        found = witnesses(ctx, setup, chosen.measurement, turn, chosen.tree or ctx.work_root)
    _record_turn(ctx, progress.replans, turn, chosen, len(state.candidates), time.perf_counter() - started)
    measured = [c.measurement for c in state.candidates if c.measurement is not None]
    tails = log_tails(chosen.measurement, chosen.tree or ctx.work_root) if kept and chosen.measurement else {}
    verdict = chosen.verdict.model_copy(update={"progress": chosen.verdict.progress or progressed})
    return TurnResult(
        verdict=verdict, ran_ok=any(m.code_runs for m in measured), kept=kept, summaries=tuple(state.summaries),
        log_tails=tails, witnesses=found if kept is not None else None,
        measured_goal=any(name in m.metrics for m in measured for name in setup.goal.metric_names),
        vetoed=frozenset(r for c in state.candidates for r in c.verdict.rules),
        tests=len(state.candidates) if noisy_metrics(setup) else 0, pinned=state.pinned)


def _kept(chosen: Candidate, turn: int) -> Kept | None:
    if chosen.verdict.decision != "KEPT" or chosen.measurement is None:
        return None
    return Kept(commit=chosen.commit, metrics=dict(chosen.measurement.metrics), runs=chosen.measurement.code_runs,
                turn=turn, vs_base=dict(chosen.vs_base))


def _batch(ctx: RunContext, setup: Setup, progress: Progress, turn: int, state: _Turn) -> GaveUp | None:
    """Ask and measure; while no candidate of a batch applies, feed the reasons back and ask again."""
    feedback: list[str] = []
    # the worktrees the batch will be measured in are made while the brain thinks (the first turn's cost)
    ctx.workspace.warm(worktrees_wanted(ctx, setup), progress.kept.commit, ctx.folder.root / "work-candidates")
    for _ in range(ctx.config.max_patch_reflections + 1):
        if ctx.budgets.time_exhausted():
            return GaveUp("time budget used up")
        history = list(progress.history) + state.summaries

        def build(hydrated: list[FileView], notes: list[str], history: list[StateSummary] = history,
                  feedback: list[str] = feedback) -> PatchRequest:
            return _request(ctx, setup, progress, turn, history, feedback + notes, hydrated)

        response, state.pinned = ask(ctx, build, ctx.brain.patch, f"turn {turn}", state.pinned)
        if not response.proposals:
            return GaveUp(response.give_up or "no reason given")
        candidates = _measure(ctx, setup, progress, progress.kept, turn, state,
                              response.proposals[: ctx.config.batch_size], first=1)
        if any(c.commit for c in candidates):
            state.candidates, state.recorded = candidates, set()
            return None
        feedback = [c.verdict.reason for c in candidates]
        state.summaries += _record_candidates(ctx, turn, candidates)
        ctx.folder.append(PatchesRejected(turn=turn, messages=feedback))
        state.candidates, state.recorded = candidates, {c.index for c in candidates}
    return None


def _measure(ctx: RunContext, setup: Setup, progress: Progress, kept: Kept, turn: int, state: _Turn,
             proposals: list[PatchProposal], first: int) -> list[Candidate]:
    """Measure the proposals not already tried this turn (the same change up to whitespace is one candidate)."""
    fresh: list[PatchProposal] = []
    dropped: list[tuple[PatchProposal, int]] = []
    for proposal in proposals:
        key = fingerprint(proposal)
        if key in state.seen:
            dropped.append((proposal, state.seen[key]))
            continue
        state.seen[key] = first + len(fresh)
        fresh.append(proposal)
    found = evaluate_batch(ctx, setup, kept, turn, fresh, tests=progress.tests + len(state.summaries), first=first,
                           of=first - 1 + len(fresh)) if fresh else []
    for offset, (proposal, same) in enumerate(dropped, start=first + len(fresh)):
        found.append(Candidate(offset, proposal, decided("REJECTED", f"the same change as candidate {same}: "
                                                                     "not measured again")))
    return found


def _request(ctx: RunContext, setup: Setup, progress: Progress, turn: int, history: list[StateSummary],
             feedback: list[str], hydrated: list[FileView], repair: StateSummary | None = None) -> PatchRequest:
    plan = setup.plan
    index = ctx.index.current(progress.kept.commit)  # the main tree holds the kept state whenever a brain is asked
    frames = [f"{f.file}:{f.line}" for w in progress.witnesses for f in w.stack]
    key = (plan.model_dump_json(), setup.goal.model_dump_json(), tuple(frames), ctx.config.context_budget_chars)
    context = ctx.index.view(key, lambda: mark_frozen(ctx, setup, build_slice(
        ctx.work_root, setup.goal, ctx.config.context_budget_chars, index, entries=plan_entries(plan, index),
        frames=frames, focus=[f.split(":", 1)[0] for intent in plan.patch_intents for f in intent.files],
        protected=protection(plan))))
    return PatchRequest(
        goal=ctx.goal_view(setup.goal), turn=turn, replan=progress.replans, plan=plan, context=context,
        history=history, log_tails=progress.log_tails, feedback=feedback,
        max_candidates=ctx.config.batch_size, hydrated=hydrated, witnesses=list(progress.witnesses), repair=repair,
    )


def _crashed(kept: Kept, measured: Measurement | None, time_left_s: float) -> bool:
    """It ran, where the kept state runs, and a command failed or timed out (a timeout only when the run has
    the time to measure a fix: twice the time the broken candidate took)."""
    if measured is None or not kept.runs or not measured.commands or measured.code_runs:
        return False
    return not measured.timed_out or time_left_s > 2 * measured.duration_s


def _repair(ctx: RunContext, setup: Setup, progress: Progress, turn: int, state: _Turn) -> None:
    """Once per turn: the first candidate that passed the audit and crashed goes back to the brain for a fix.

    Files the brain asks for here stay pinned like any others (``state.pinned``)."""
    broken = [c for c in state.candidates if c.audit is not None and c.audit.passed
              and _crashed(progress.kept, c.measurement, ctx.budgets.remaining_s())]
    if not broken or ctx.budgets.time_exhausted():
        return
    state.summaries += _record_candidates(ctx, turn, [c for c in state.candidates if c.index not in state.recorded])
    state.recorded |= {c.index for c in state.candidates}
    target = next(s for s in reversed(state.summaries) if s.candidate == broken[0].index)
    history = list(progress.history) + state.summaries

    def build(hydrated: list[FileView], notes: list[str]) -> PatchRequest:
        return _request(ctx, setup, progress, turn, history, notes, hydrated, repair=target)

    response, state.pinned = ask(ctx, build, ctx.brain.patch, f"turn {turn} repair", state.pinned)
    if not response.proposals:
        return
    first = max(c.index for c in state.candidates) + 1
    state.candidates += _measure(ctx, setup, progress, progress.kept, turn, state,
                                 response.proposals[: max(1, ctx.config.batch_size // 2)], first=first)


def _stack(ctx: RunContext, setup: Setup, progress: Progress, turn: int, state: _Turn, chosen: Candidate,
           kept: Kept, improving: list[Candidate]) -> Candidate | None:
    """The best other improving candidate that touches other files, tried on top of the chosen one."""
    if all(is_met(t, kept.metrics, setup.baseline_metrics, setup.noise) for t in setup.goal.targets):
        return None
    others = [c for c in improving if c.diff and not set(c.files) & set(chosen.files)]
    if not others or ctx.budgets.time_exhausted():
        return None
    other = _choose(setup, others)
    proposal = PatchProposal(rationale=f"candidate {chosen.index} and candidate {other.index} together",
                             diff=other.diff)
    first = max(c.index for c in state.candidates) + 1
    found = _measure(ctx, setup, replace(progress, kept=kept), kept, turn, state, [proposal], first=first)
    state.candidates += found
    return found[0] if found else None


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


def _record(ctx: RunContext, turn: int, state: _Turn) -> None:
    fresh = [c for c in state.candidates if c.index not in state.recorded]
    state.summaries += _record_candidates(ctx, turn, fresh)
    state.recorded |= {c.index for c in fresh}


def trimmed_diff(diff: str, lines: int = DIFF_LINES) -> str:
    """A diff cut to its first ``lines`` lines, saying how many were left out."""
    rows = diff.splitlines()
    if len(rows) <= lines:
        return diff
    return "\n".join(rows[:lines]) + f"\n... ({len(rows) - lines} more lines)\n"


def error_tail(measured: Measurement | None, tree: Path | None, lines: int = ERROR_LINES) -> str:
    """The failing command's last stderr lines (else stdout), repository-relative; empty when all ran cleanly."""
    if measured is None:
        return ""
    for run in measured.commands:
        if run.ok:
            continue
        text = run.stderr_tail.strip() or run.stdout_tail.strip()
        rows = text.splitlines()[-lines:]
        head = f"{run.name}: " + ("timed out" if run.timed_out else f"exit code {run.exit_code}")
        body = "\n".join(rows)
        return head + ("\n" + (relative(body, tree) if tree is not None else body) if body else "")
    return ""


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
            files=list(cand.files), rationale=cand.proposal.rationale, diff=trimmed_diff(cand.diff),
            error=error_tail(m, cand.tree or ctx.work_root),
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

