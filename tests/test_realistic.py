"""The offline brain on a corpus of realistic repositories: every case reaches its expected outcome.

The corpus (tests/fixtures/realistic) runs through ``remoroo bench`` as a user would run a suite; the cases are
copied first, since a run writes .remoroo/ into each repository.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import ROOT, cli

CORPUS = ROOT / "tests" / "fixtures" / "realistic"


def test_the_corpus_holds_twenty_cases_of_every_outcome() -> None:
    cases = [json.loads(p.read_text()) for p in sorted(CORPUS.glob("*/case.json"))]
    assert len(cases) >= 20
    assert {c["expected_outcome"] for c in cases} == {"success", "partial_success", "fail"}


def test_every_realistic_case_reaches_its_expected_outcome(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    shutil.copytree(CORPUS, suite, ignore=shutil.ignore_patterns(".remoroo", "__pycache__"))
    out = tmp_path / "board"
    done = cli("bench", str(suite), "--jobs", "2", "--out", str(out), timeout=1200)
    assert done.returncode == 0, done.stderr
    board = json.loads((out / "leaderboard.json").read_text())
    count = len(board["rows"])
    assert f"[{count}/{count}]" in done.stdout  # progress goes to stdout, case by case
    wrong = {r["case_id"]: (r["expected"], r["outcome"], r["reason"][:200]) for r in board["rows"] if not r["correct"]}
    assert wrong == {}
    assert board["total"]["engine_errors"] == 0 and board["python3"]
