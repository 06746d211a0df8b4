"""The benchmark runner: a mini suite in three categories, incremental reruns, and a dask LocalCluster."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, cli, write_files

from remoroo.bench import BenchOptions, discover
from remoroo.bench.runner import run_case


def case_json(case_id: str, expected: str, timeout_s: float = 120, metrics: str = "fib_10 == 55") -> str:
    return json.dumps({"case_id": case_id, "name": case_id, "description": "", "repo_path": "repo",
                       "goal": "make the metric right", "metrics": metrics, "expected_outcome": expected,
                       "timeout_s": timeout_s, "max_turns": 3})


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    root = tmp_path / "suite"
    for category, name in (("should_succeed", "fib_fix"), ("should_fail", "impossible")):
        shutil.copytree(ROOT / "examples" / name, root / category / name, ignore=shutil.ignore_patterns(".remoroo"))
    write_files(root / "edge" / "hanging", {
        "case.json": case_json("hanging", "fail", timeout_s=4, metrics="done == 1"),
        "repo/main.py": "import time\n\nwhile True:\n    time.sleep(0.1)\nprint(f'done={1}')\n",
    })
    write_files(root / "edge" / "broken", {"case.json": '{"case_id": "broken", "goal": ', "repo/x.py": ""})
    write_files(root / "edge" / "no_repo", {"case.json": case_json("no_repo", "fail").replace('"repo"', '"gone"')})
    return root


def rows(out: Path) -> dict[str, dict]:
    board = json.loads((out / "leaderboard.json").read_text())
    return {r["case_id"]: r for r in board["rows"]}


def test_suite_runs_in_parallel_then_skips_everything(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "board"
    done = cli("bench", str(suite), "--jobs", "2", "--out", str(out), timeout=600)
    assert done.returncode == 0, done.stderr
    first = rows(out)
    assert {k: (r["outcome"], r["status"], r["correct"]) for k, r in first.items()} == {
        "fib_fix": ("SUCCESS", "run", True),
        "impossible": ("FAIL", "run", True),
        "hanging": ("FAIL", "run", True),
        "broken": ("INVALID", "invalid", None),
        "no_repo": ("INVALID", "invalid", None),
    }
    assert "repo_path 'gone' does not exist" in first["no_repo"]["reason"]
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["total"]["correct"] == 3 and board["total"]["invalid"] == 2
    assert set(board["categories"]) == {"should_succeed", "should_fail", "edge"}
    html = (out / "leaderboard.html").read_text()
    assert html.startswith("<!doctype html>") and "http" not in html.replace("<!doctype html>", "")
    assert "| fib_fix | should_succeed | SUCCESS | success | yes |" in (out / "leaderboard.md").read_text()

    again = cli("bench", str(suite), "--out", str(out), timeout=120)
    assert again.returncode == 0
    second = rows(out)
    assert {r["status"] for k, r in second.items() if first[k]["status"] == "run"} == {"skipped"}
    same = ("outcome", "correct", "turns", "expected", "category")
    assert {k: [r[f] for f in same] for k, r in second.items()} == {k: [r[f] for f in same] for k, r in first.items()}


def test_include_patterns_and_nested_case_files(suite: Path) -> None:
    (suite / "should_succeed" / "fib_fix" / "repo" / "case.json").write_text("{}")  # inside a repo: not a case
    assert [c.case_id for c in discover(suite, ["should_*/*"])] == ["impossible", "fib_fix"]
    assert [c.case_id for c in discover(suite, ["hanging"])] == ["hanging"]
    assert len(discover(suite)) == 5


def test_a_crashing_engine_is_recorded_not_fatal(suite: Path) -> None:
    case = discover(suite, ["fib_fix"])[0]
    result = run_case(case, BenchOptions(brain="no-such-brain"))
    # exit 2 (the engine refused its input): an engine error, never a correct FAIL
    assert (result.outcome, result.status, result.correct) == ("REFUSED", "refused", False)
    assert "Unknown brain" in result.reason


def test_two_cases_on_a_dask_local_cluster(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "dask-board"
    done = cli("bench", str(suite), "--include", "should_succeed/*", "--include", "should_fail/*", "--rerun",
               "--cluster", "local", "--jobs", "2", "--out", str(out), timeout=600)
    assert done.returncode == 0, done.stderr
    assert {k: (r["outcome"], r["status"]) for k, r in rows(out).items()} == {
        "fib_fix": ("SUCCESS", "run"), "impossible": ("FAIL", "run")}


def test_include_by_folder_and_a_pattern_that_matches_nothing(suite: Path) -> None:
    by_folder = discover(suite, [str(suite / "should_succeed" / "fib_fix")])
    assert [c.case_id for c in by_folder] == ["fib_fix"]
    assert [c.case_id for c in discover(suite, ["should_fail/impossible/"])] == ["impossible"]
    assert [c.case_id for c in discover(suite, ["./edge"])] == ["broken", "hanging", "no_repo"]  # a category
    assert {c.case_id for c in discover(suite, [str(suite / "should_fail")])} == {"impossible"}
    done = cli("bench", str(suite), "--include", "fib-fix", timeout=60)
    assert done.returncode == 2 and "'fib-fix' matches no case" in done.stderr and "fib_fix" in done.stderr


def test_per_case_budgets_progress_on_stdout_and_a_board_after_every_case(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "board"
    command = [sys.executable, "-m", "remoroo.cli", "bench", str(suite), "--include", "should_*/*", "--rerun",
               "--timeout", "90", "--max-turns", "1", "--out", str(out)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    seen: set[int] = set()
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            seen.add(len(json.loads((out / "leaderboard.json").read_text())["rows"]))
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert 1 in seen, "the board is written after the first case, not only at the end"
    assert "[1/2]" in stdout and "[2/2]" in stdout and "python3" in stdout
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["python3"] and len(board["rows"]) == 2
    for row in board["rows"]:  # --max-turns 1 reached each run
        report = json.loads(Path(row["report"]).with_suffix(".json").read_text())
        assert len(report["turns"]) <= 1
