"""Feedback per candidate: its own diff and error in history, the kept state's output as the kept state's,
syntax errors back to the model (never a veto), a repair step, near-duplicates dropped, stacking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIB_PLAN, git_init, write_files
from replay_server import ReplayServer
from test_llm_brain import FIB, PLAN, run_llm


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_files(tmp_path / "fib", FIB)
    git_init(root)
    return root


def proposal(n: int, title: str, search: str, replace: str, path: str = "fib.py") -> str:
    return (f"## Proposal {n}: {title}\nRationale: {title}.\n\n{path}\n<<<<<<< SEARCH\n{search}=======\n"
            f"{replace}>>>>>>> REPLACE\n\n")


FIX = proposal(1, "n steps", "    for _ in range(n - 1):\n", "    for _ in range(n):\n")
SYNTAX = proposal(1, "broken", "    for _ in range(n - 1):\n", "    for _ in range(n):)\n")
CRASH = proposal(1, "crash", "    return a\n", "    raise ValueError('boom at the end')\n")


def source_shown(server: ReplayServer, index: int) -> str:
    """The repository's code as the index-th call showed it (its own section, apart from history and feedback)."""
    content = [m for m in server.requests[index]["messages"] if m["role"] == "user"][0]["content"]
    text = content if isinstance(content, str) else "".join(b["text"] for b in content)
    return text.split("## The repository\n", 1)[1].split("## This call\n", 1)[0]


def request_json(server: ReplayServer, index: int) -> dict:
    """The JSON part of the index-th call's user message (history, feedback, log tails, repair)."""
    content = [m for m in server.requests[index]["messages"] if m["role"] == "user"][0]["content"]
    text = content if isinstance(content, str) else "".join(b["text"] for b in content)
    body = text.split("## This call\n```json\n", 1)[1].split("\n```", 1)[0]
    return json.loads(body)


def test_a_syntax_error_goes_back_to_the_model_never_vetoed(repo: Path) -> None:
    with ReplayServer([{"text": PLAN}, {"text": SYNTAX}, {"text": FIX}]) as server:
        report = run_llm(repo, server)
    assert report["outcome"] == "SUCCESS", report["reason"]
    again = request_json(server, 2)
    assert any("syntax error: SyntaxError" in f and "fib.py, line 3" in f for f in again["feedback"]), again
    shown = source_shown(server, 2)  # the code shown again is the kept state's, not the rejected patch's
    assert "range(n - 1):" in shown and "range(n):)" not in shown
    events = [json.loads(line) for line in (Path(report["run_dir"]) / "events.ndjson").read_text().splitlines()]
    decisions = [e["decision"] for e in events if e.get("event") == "candidate"]
    assert "VETOED" not in decisions and decisions[0] == "REJECTED"


def test_a_crash_is_repaired_and_its_error_and_diff_are_shown(repo: Path) -> None:
    with ReplayServer([{"text": PLAN}, {"text": CRASH}, {"text": FIX}]) as server:
        report = run_llm(repo, server, max_turns=1)
    assert report["outcome"] == "SUCCESS", report["reason"]
    repair = request_json(server, 2)["repair"]
    assert repair["decision"] == "REVERTED" and "boom at the end" in repair["error"]
    assert "+    raise ValueError('boom at the end')" in repair["diff"]
    code = source_shown(server, 2)  # the code shown is the kept state; the diff says the rest
    assert "    return a\n" in code and "raise ValueError" not in code


def test_a_hang_is_repaired_too_when_the_run_has_the_time(repo: Path) -> None:
    hang = proposal(1, "loop forever", "    return a\n", "    while a:\n        a = a\n    return a\n")
    short = json.dumps({"plan": {**FIB_PLAN, "commands": [{**FIB_PLAN["commands"][0], "timeout_s": 2}]}})
    with ReplayServer([{"text": short}, {"text": hang}, {"text": FIX}]) as server:
        report = run_llm(repo, server, max_turns=1)
    assert report["outcome"] == "SUCCESS", report["reason"]
    repair = request_json(server, 2)["repair"]
    assert repair["error"].startswith("main: timed out") and "+    while a:" in repair["diff"]


def test_the_kept_state_output_is_not_a_discarded_candidates(repo: Path) -> None:
    give_up_repair = "GIVE UP: no repair worth trying"
    with ReplayServer([{"text": PLAN}, {"text": CRASH}, {"text": give_up_repair}, {"text": FIX}]) as server:
        report = run_llm(repo, server)
    assert report["outcome"] == "SUCCESS", report["reason"]
    second_turn = request_json(server, 3)
    tails = json.dumps(second_turn["log_tails"])
    assert "boom at the end" not in tails and "fib_10=34" in tails  # the kept state prints 34
    crashed = [h for h in second_turn["history"] if h["turn"] == 1][0]
    assert "boom at the end" in crashed["error"] and "raise ValueError" in crashed["diff"]


def test_near_duplicate_proposals_are_measured_once(repo: Path) -> None:
    spaced = proposal(2, "the same, spaced", "    for _ in range(n - 1):  \n", "    for _ in range(n):  \n")
    with ReplayServer([{"text": PLAN}, {"text": FIX + spaced}]) as server:
        report = run_llm(repo, server)
    assert report["outcome"] == "SUCCESS", report["reason"]
    events = [json.loads(line) for line in (Path(report["run_dir"]) / "events.ndjson").read_text().splitlines()]
    done = [e for e in events if e.get("event") == "candidate"]
    assert [e["decision"] for e in done] == ["KEPT"]  # the brain dropped the second before sending it
    started = [e for e in events if e.get("event") == "candidate_started"]
    assert len(started) == 1


TWO = {
    "a.py": "def a():\n    return 1\n",
    "b.py": "def b():\n    return 1\n",
    "main.py": "from a import a\nfrom b import b\n\nprint(f'a={a()}')\nprint(f'b={b()}')\n",
}
TWO_PLAN = json.dumps({"plan": {
    "summary": "run main.py, read a and b",
    "commands": [{"name": "main", "run": "python3 main.py", "timeout_s": 30}],
    "instrumentation": [{"metric": "a", "source": "stdout", "command": "main", "pattern": r"a=(-?\d+)"},
                        {"metric": "b", "source": "stdout", "command": "main", "pattern": r"b=(-?\d+)"}],
    "patch_intents": [{"description": "raise both", "files": ["a.py", "b.py"]}]}})


def test_a_second_improvement_in_other_files_is_stacked(tmp_path: Path) -> None:
    root = write_files(tmp_path / "two", TWO)
    git_init(root)
    both = (proposal(1, "raise a", "    return 1\n", "    return 2\n", "a.py")
            + proposal(2, "raise b", "    return 1\n", "    return 2\n", "b.py"))
    with ReplayServer([{"text": TWO_PLAN}, {"text": both}]) as server:
        report = run_llm(root, server, goal="raise a and b", metrics="a >= 2, b >= 2")
    assert report["outcome"] == "SUCCESS", report["reason"]
    events = [json.loads(line) for line in (Path(report["run_dir"]) / "events.ndjson").read_text().splitlines()]
    done = [e for e in events if e.get("event") == "candidate"]
    assert [e["decision"] for e in done] == ["KEPT", "REVERTED", "KEPT"]
    assert done[2]["rationale"] == "candidate 1 and candidate 2 together"
    assert [e for e in events if e.get("event") == "turn"][0]["chosen"] == 3
