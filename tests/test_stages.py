"""The loop's stages, each tested on its own with in-memory fakes (a list brain, a file-reading measurer)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from conftest import git_init, write_files
from fakes import SCORE_PLAN, FileMeasurer, ListBrain, context

from remoroo.errors import BrainError, BudgetExceeded, EngineError
from remoroo.evidence.events import Baseline, CandidateDone, Judged, PlanAccepted, TurnDone
from remoroo.evidence.ledger import RunFolder
from remoroo.loop.engine import Tracker, advance, drive, run
from remoroo.loop.preflight import prepare
from remoroo.loop.state import Ending, Kept, Progress
from remoroo.loop.turn import GaveUp, TurnResult, run_turn
from remoroo.loop.verify import verify_final
from remoroo.model.budgets import Budgets
from remoroo.model.config import RunConfig
from remoroo.model.decide import Verdict
from remoroo.model.patch import Edit, PatchProposal
from remoroo.model.plan import Plan
from remoroo.protocol.client import BrainClient
from remoroo.protocol.wire import (
    AnyRequest,
    AnyResponse,
    InstrumentResponse,
    PatchResponse,
    PlanResponse,
    Usage,
    in_process,
)

MAIN = "print('score=' + open('score.txt').read().strip())\n"


def score_repo(tmp_path: Path, score: int = 1) -> Path:
    repo = write_files(tmp_path / "repo", {"score.txt": f"{score}\n", "main.py": MAIN,
                                           "tests/test_score.py": "def test_x():\n    assert True\n"})
    git_init(repo)
    return repo


def set_score(value: int, rationale: str = "", old: int = 1) -> PatchProposal:
    return PatchProposal(rationale=rationale, edits=[Edit(path="score.txt", search=f"{old}\n", replace=f"{value}\n")])


def plan_only() -> list[PlanResponse]:
    return [PlanResponse(plan=SCORE_PLAN)]


def test_preflight_plans_then_measures_the_baseline(tmp_path: Path) -> None:
    measurer = FileMeasurer()
    ctx = context(score_repo(tmp_path), "score >= 5", ListBrain(plans=plan_only()), measurer)
    prepared = prepare(ctx)
    assert not isinstance(prepared, Ending)
    setup, progress = prepared
    assert setup.baseline.metrics == {"score": 1} and setup.repeats == 1
    assert progress.kept == Kept(commit=ctx.workspace.base, metrics={"score": 1}, runs=True, turn=0)
    assert [h.decision for h in progress.history] == ["BASELINE"]
    assert len(measurer.calls) == 1  # a single first measurement: no timing metric, no repeats
    kinds = [type(e) for e in ctx.folder.events()]
    assert kinds.index(PlanAccepted) < kinds.index(Baseline)


def test_preflight_ends_when_the_brain_says_a_metric_is_unmeasurable(tmp_path: Path) -> None:
    data = SCORE_PLAN.model_dump()
    data["instrumentation"].append({"metric": "other", "source": "stdout", "command": "main",
                                    "pattern": r"other=(\d+)"})
    plan = Plan.model_validate(data)
    # the first refusal sends the run back to planning (a plan may read the value elsewhere); the second ends it
    brain = ListBrain(plans=[PlanResponse(plan=plan), PlanResponse(plan=plan)],
                      instruments=[InstrumentResponse(unmeasurable="nothing computes it")] * 2)
    ctx = context(score_repo(tmp_path), "score >= 5, other >= 1", brain, FileMeasurer())
    ended = prepare(ctx)
    assert isinstance(ended, Ending) and ended.outcome == "FAIL"
    assert ended.reason == "unmeasurable: other: nothing computes it"


def prepared(tmp_path: Path, patches: list[PatchResponse], spec: str = "score >= 5", **config: object):
    measurer = FileMeasurer()
    ctx = context(score_repo(tmp_path), spec, ListBrain(plans=plan_only(), patches=patches), measurer,
                  **config)
    result = prepare(ctx)
    assert not isinstance(result, Ending)
    return ctx, result[0], result[1], measurer


def test_a_turn_keeps_the_best_candidate_and_leaves_progress_alone(tmp_path: Path) -> None:
    batch = PatchResponse(proposals=[set_score(3, "three"), set_score(7, "seven"), set_score(2, "two")])
    ctx, setup, progress, _ = prepared(tmp_path, [batch], workers=1)
    result = run_turn(ctx, setup, progress, 1)
    assert isinstance(result, TurnResult)
    assert result.verdict.decision == "KEPT" and result.kept is not None
    assert result.kept.metrics == {"score": 7} and result.kept.turn == 1
    assert [(s.candidate, s.decision) for s in result.summaries] == [(1, "REVERTED"), (2, "KEPT"), (3, "REVERTED")]
    assert "candidate 2 was better" in result.summaries[0].reason
    assert (ctx.work_root / "score.txt").read_text() == "7\n"  # the work tree is at the kept state
    assert progress.kept.metrics == {"score": 1}  # the stage returned a result; it wrote into nothing shared
    turn = [e for e in ctx.folder.events() if isinstance(e, TurnDone)]
    assert [(t.turn, t.chosen, t.decision) for t in turn] == [(1, 2, "KEPT")]


def test_a_turn_vetoes_a_protected_path_with_a_typed_rule(tmp_path: Path) -> None:
    cheat = PatchProposal(edits=[Edit(path="tests/test_score.py", search="    assert True\n", replace="    pass\n")])
    ctx, setup, progress, measurer = prepared(tmp_path, [PatchResponse(proposals=[cheat])])
    result = run_turn(ctx, setup, progress, 1)
    assert isinstance(result, TurnResult) and result.kept is None
    assert result.verdict.decision == "VETOED" and result.verdict.rules == ["protected_paths"]
    assert result.vetoed == frozenset({"protected_paths"})
    assert len(measurer.calls) == 1  # the baseline only: a vetoed candidate is never measured
    event = next(e for e in ctx.folder.events() if isinstance(e, CandidateDone))
    assert event.rules == ["protected_paths"] and event.audit is not None and not event.audit.passed


def test_a_turn_ends_when_the_brain_gives_up(tmp_path: Path) -> None:
    ctx, setup, progress, _ = prepared(tmp_path, [PatchResponse(give_up="out of ideas")])
    assert run_turn(ctx, setup, progress, 1) == GaveUp("out of ideas")


def test_patches_that_do_not_apply_go_back_to_the_brain(tmp_path: Path) -> None:
    bad = PatchProposal(edits=[Edit(path="score.txt", search="nope\n", replace="9\n")])
    brain = ListBrain(plans=plan_only(), patches=[PatchResponse(proposals=[bad]),
                                                  PatchResponse(proposals=[set_score(9)])])
    ctx = context(score_repo(tmp_path), "score >= 5", brain, FileMeasurer())
    prepared_ = prepare(ctx)
    assert not isinstance(prepared_, Ending)
    result = run_turn(ctx, *prepared_, 1)
    assert isinstance(result, TurnResult) and result.kept is not None and result.kept.metrics == {"score": 9}
    assert [s.decision for s in result.summaries] == ["REJECTED", "KEPT"]
    second = [r for r in brain.seen if r.kind == "patch"][1]
    assert len(second.feedback) == 1 and "did not apply" in second.feedback[0] and "score.txt" in second.feedback[0]
    assert [h.decision for h in second.history] == ["BASELINE", "REJECTED"]


def test_advance_counts_stagnation_only_without_metric_progress() -> None:
    start = Progress(kept=Kept(commit="a", metrics={"score": 1}, runs=True), ever_measured=True, stagnant=1)
    flat = TurnResult(verdict=Verdict(decision="REVERTED", reason="no metric moved", progress=False), ran_ok=True,
                      kept=None, summaries=())
    assert advance(start, flat, 1).stagnant == 2
    moved = replace(flat, verdict=Verdict(decision="KEPT", reason="improved", progress=True),
                    kept=Kept(commit="b", metrics={"score": 3}, runs=True, turn=2))
    after = advance(start, moved, 2)
    assert (after.stagnant, after.kept.commit, after.turns_run) == (0, "b", 2)
    assert start.stagnant == 1  # progress is a value: advancing makes a new one


def test_verification_downgrades_a_claim_the_fresh_copy_does_not_hold(tmp_path: Path) -> None:
    ctx, setup, progress, measurer = prepared(tmp_path, [PatchResponse(proposals=[set_score(7)])])
    result = run_turn(ctx, setup, progress, 1)
    assert isinstance(result, TurnResult) and result.kept is not None
    diff = ctx.workspace.diff(setup.start_commit, result.kept.commit)
    measurer.override = {"verify": {"score": 1}}  # the fresh copy measures no better than the baseline
    verified = verify_final(ctx, setup, diff, "SUCCESS", "all 1 target(s) met")
    assert verified.outcome == "FAIL" and "did not hold" in verified.reason
    measurer.override = {}
    assert verify_final(ctx, setup, diff, "SUCCESS", "all 1 target(s) met").outcome == "SUCCESS"


def test_drive_reaches_success_and_stops_at_once(tmp_path: Path) -> None:
    patches = [PatchResponse(proposals=[set_score(2)]), PatchResponse(proposals=[set_score(8, old=2)]),
               PatchResponse(proposals=[set_score(9, old=8)])]
    brain = ListBrain(plans=plan_only(), patches=patches)
    tracker = Tracker()
    ending = drive(context(score_repo(tmp_path), "score >= 5", brain, FileMeasurer()), tracker)
    assert ending == Ending("SUCCESS", "all 1 target(s) met")
    progress = tracker.progress
    assert tracker.turns == 2 and progress is not None and progress.kept.metrics == {"score": 8}
    assert [r.kind for r in brain.seen] == ["plan", "patch", "patch"]  # met after turn 2: no third patch call


def test_drive_ends_by_stagnation_after_a_replan(tmp_path: Path) -> None:
    same = [PatchResponse(proposals=[PatchProposal(edits=[Edit(path="main.py", search=MAIN,
                                                               replace=MAIN.rstrip() + "  # tidy\n")])])
            for _ in range(10)]
    ctx = context(score_repo(tmp_path), "score >= 5",
                  ListBrain(plans=plan_only() * 2, patches=same), FileMeasurer(), stagnation_turns=2, max_replans=1)
    tracker = Tracker()
    ending = drive(ctx, tracker)
    assert ending.outcome == "FAIL" and "stagnation: 2 turns without metric progress" in ending.reason
    assert tracker.turns == 4  # two turns, a replan, two more


def test_budgets_are_checked_in_one_place() -> None:
    budgets = Budgets(max_turns=2, timeout_s=60, stagnation_turns=3, max_tokens=100, max_cost_usd=1.0)
    assert budgets.stop_reason(1) is None and budgets.stop_reason(2) == "turn budget (2) used up"
    assert budgets.stagnated(3) and not budgets.stagnated(2)
    assert budgets.tokens_left(40) == 60
    budgets.check_spend(99, 0.5)
    with pytest.raises(BudgetExceeded, match="token budget used up: 100 of 100"):
        budgets.check_spend(100, 0.0)
    with pytest.raises(BudgetExceeded, match="cost budget"):
        budgets.check_spend(0, 1.0)
    assert issubclass(BudgetExceeded, EngineError)
    expired = Budgets(timeout_s=1, started=0.0)
    assert expired.stop_reason(0) == "time budget (1s) used up"


def judged_run(repo: Path, brain: ListBrain) -> list[Judged]:
    """A run that ends SUCCESS under a 1000-token budget, then the judge: its Judged events."""
    config = RunConfig(repo=repo, goal="raise the score", metrics="score >= 5", max_tokens=1000,
                       editable=["score.txt"])  # main.py reads it: an input, editable only by the user
    result = run(config, BrainClient(in_process(brain), name="list", budgets=config.budgets()))
    assert (result.outcome, result.reason) == ("SUCCESS", "all 1 target(s) met")
    assert [r.kind for r in brain.seen] == ["plan", "patch", "judge"]
    return [e for e in RunFolder(result.run_dir).events() if isinstance(e, Judged)]


def test_the_judge_has_its_own_allowance_and_never_changes_the_outcome(tmp_path: Path) -> None:
    repo = score_repo(tmp_path)
    # the patch answer uses the whole token budget; the judge, asked after the outcome is fixed, has its own
    fix = PatchResponse(proposals=[set_score(9)], usage=Usage(input_tokens=1000))
    brain = ListBrain(plans=plan_only(), patches=[fix])
    judged = judged_run(repo, brain)
    assert judged and judged[0].error is None


def test_a_judge_that_fails_leaves_a_note_and_nothing_else(tmp_path: Path) -> None:
    repo = score_repo(tmp_path)
    class BrokenJudge(ListBrain):
        def respond(self, request: AnyRequest) -> AnyResponse:
            if request.kind == "judge":
                self.seen.append(request)
                raise BrainError("the judge's endpoint answered 503")
            return super().respond(request)

    brain = BrokenJudge(plans=plan_only(), patches=[PatchResponse(proposals=[set_score(9)])])
    judged = judged_run(repo, brain)
    assert judged and "answered 503" in (judged[0].error or "")
    report = next((repo / ".remoroo" / "runs").glob("*/final_report.md")).read_text()
    assert "the judge gave no judgement: the judge's endpoint answered 503" in report
    assert report.count("## Outcome: SUCCESS") == 1


def test_the_same_change_twice_in_a_batch_is_measured_once(tmp_path: Path) -> None:
    spaced = PatchProposal(rationale="again", edits=[Edit(path="score.txt", search="1\n", replace="9 \n")])
    measurer = FileMeasurer()
    brain = ListBrain(plans=plan_only(), patches=[PatchResponse(proposals=[set_score(9), spaced])])
    ctx = context(score_repo(tmp_path), "score >= 5", brain, measurer)
    prepared_ = prepare(ctx)
    assert not isinstance(prepared_, Ending)
    measured_before = len(measurer.calls)
    result = run_turn(ctx, *prepared_, 1)
    assert isinstance(result, TurnResult) and result.kept is not None
    assert [s.decision for s in result.summaries] == ["KEPT", "REJECTED"]
    assert "the same change as candidate 1" in result.summaries[1].reason
    assert len(measurer.calls) == measured_before + 1
