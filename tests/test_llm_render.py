"""What the LLM brain's requests look like within their budget: pinned (hydrated) files first, the latest asked
first, a huge one cut at a line boundary with its range named rather than filling the budget or vanishing."""

from __future__ import annotations

from remoroo.brain.llm.render import render
from remoroo.model.plan import Plan
from remoroo.protocol.wire import ContextSlice, FileView, GoalView, PatchRequest

PLAN = Plan.model_validate({
    "summary": "run main.py, read fib_10",
    "commands": [{"name": "main", "run": "python3 main.py", "timeout_s": 30}],
    "instrumentation": [{"metric": "fib_10", "source": "stdout", "command": "main", "pattern": r"fib_10=(\d+)"}],
    "patch_intents": [{"description": "fix the loop bound", "files": ["fib.py"]}],
})


def _request(hydrated: list[FileView], files: list[FileView] | None = None) -> PatchRequest:
    return PatchRequest(goal=GoalView(text="fix fib", spec="fib_10 == 55", targets=["fib_10 == 55"]), turn=2,
                        plan=PLAN, context=ContextSlice(files=files or [], budget_chars=60_000), hydrated=hydrated)


def _file(path: str, lines: int, word: str) -> FileView:
    text = "".join(f"{word}_{i} = {i}  # a line of {path}\n" for i in range(lines))
    return FileView(path=path, size=len(text), content=text)


def test_a_pinned_file_larger_than_the_budget_is_cut_at_a_line_with_the_range_named() -> None:
    huge = _file("big.py", 20_000, "value")
    shown = render(_request([huge]), 8000, answer_format="").stable
    assert "big.py lines 1-" in shown and " of 20000 (asked for: kept in every later call)" in shown
    assert "value_0 = 0" in shown and "value_19999" not in shown
    assert len(shown) < 8000 * 4  # within the budget (characters / 4)
    assert "Left out for the budget" not in shown


def test_the_latest_file_asked_for_comes_first_and_no_pinned_file_takes_the_whole_share() -> None:
    old, new = _file("old.py", 5000, "old"), _file("new.py", 5000, "new")
    context = [FileView(path="small.py", size=20, content="print('small')\n")]
    shown = render(_request([old, new], context), 8000, answer_format="").stable
    assert shown.index("#### new.py") < shown.index("#### old.py")
    new_part = shown[shown.index("#### new.py"):shown.index("#### old.py")]
    assert len(new_part) <= 8000 * 4 // 2  # at most half the files' share when several were asked for
    assert "old_0 = 0" in shown  # the older one still shows its head


def test_a_pinned_file_that_fits_is_shown_whole() -> None:
    small = _file("fib.py", 30, "x")
    shown = render(_request([small]), 8000, answer_format="").stable
    assert "#### fib.py (asked for: kept in every later call)" in shown and "x_29 = 29" in shown
