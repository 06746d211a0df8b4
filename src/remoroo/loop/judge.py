"""The judge: the brain's advisory reasoning on the finished run, quoted in the report. It never changes the outcome.

It is asked only once the outcome is fixed, never after the run failed for a
brain error, with its own small allowance: a few thousand tokens beyond the
token budget, and at most ``JUDGE_S`` seconds within the run's time left. A
judge that fails, times out or runs over leaves a note in the report and
nothing else.
"""

from __future__ import annotations

from remoroo.errors import RemorooError
from remoroo.evidence.events import Judged
from remoroo.loop.state import Ending, Progress, RunContext, Setup
from remoroo.protocol.wire import ContextSlice, FileView, JudgeRequest

JUDGE_TOKENS = 4000
JUDGE_S = 60.0


def ask_judge(ctx: RunContext, setup: Setup | None, progress: Progress | None, ending: Ending) -> None:
    """Ask, and record the answer; any failure of the call (budget included) is recorded, never raised."""
    diff_path = ctx.folder.root / "final_patch.diff"
    diff = diff_path.read_text(encoding="utf-8") if diff_path.is_file() else ""
    request = JudgeRequest(
        goal=ctx.goal_view(setup.goal if setup else None), outcome=ending.outcome, reason=ending.reason,
        history=list(progress.history) if progress else [],
        final_metrics=dict(progress.kept.metrics) if progress else {},
        context=ContextSlice(files=[FileView(path="final_patch.diff", size=len(diff), content=diff[:20_000])],
                             budget_chars=20_000))
    try:
        with ctx.brain.allowance(JUDGE_TOKENS, JUDGE_S):
            response = ctx.brain.judge(request)
    except (RemorooError, ValueError) as exc:  # any failure of the advisory call is a note, nothing more
        ctx.folder.append(Judged(reasoning="", error=str(exc)))
        return
    ctx.folder.append(Judged(reasoning=response.reasoning))
