from __future__ import annotations

import json
from pathlib import Path

from remoroo.evidence.ledger import RunFolder
from remoroo.evidence.publish import write_reports
from remoroo.evidence.report import OUTCOME_RE, build_report, parse_outcome, render_markdown

SNAPSHOTS = Path(__file__).parent / "snapshots"
EVENTS = [
    {"ts": 100.0, "event": "run_started", "run_id": "20260101-000000-abcdef", "goal": "Fix fib",
     "spec": "fib_10 == 55, runtime_s < 1", "brain": "scripted:b.json", "targets": ["fib_10 == 55", "runtime_s < 1"],
     "semantic": [], "metrics": ["fib_10", "runtime_s"]},
    {"ts": 100.1, "event": "plan_accepted", "replan": 0, "attempt": 1, "file": "plan.json",
     "commands": ["python3 main.py"], "reason": None},
    {"ts": 100.3, "event": "baseline", "metrics": {"fib_10": 34, "runtime_s": 0.1}, "missing": {},
     "flags": ["out.json existed before the run and was removed so it cannot count"], "duration_s": 0.2,
     "spread": {}, "repeats": 1, "commands": []},
    {"ts": 100.5, "event": "turn", "turn": 1, "replan": 0, "files": ["fib.py"], "candidates": 1, "chosen": 1,
     "metrics": {"fib_10": 21, "runtime_s": 0.1},
     "decision": "REVERTED", "reason": "worsened: fib_10 == 55", "duration_s": 0.21},
    {"ts": 100.59, "event": "candidate", "turn": 2, "candidate": 1, "files": ["out.json"], "patch_hash": "bb",
     "metrics": {}, "missing": {}, "audit": {"passed": False, "findings": [
         {"rule": "protected_paths", "passed": False, "reason": "the patch touches out.json",
          "evidence": {"files": ["out.json"]}}]}, "rationale": "", "commands": [],
     "decision": "VETOED", "rules": ["protected_paths"],
     "reason": "vetoed: protected_paths: the patch touches out.json"},
    {"ts": 100.6, "event": "turn", "turn": 2, "replan": 0, "files": ["out.json"], "candidates": 1, "chosen": 1,
     "metrics": {},
     "decision": "VETOED", "reason": "vetoed: protected_paths: the patch touches out.json", "duration_s": 0.01},
    {"ts": 100.8, "event": "turn", "turn": 3, "replan": 0, "files": ["fib.py"], "candidates": 1, "chosen": 1,
     "metrics": {"fib_10": 55, "runtime_s": 0.1},
     "decision": "KEPT", "reason": "improved: fib_10 == 55", "duration_s": 0.2},
    {"ts": 101.0, "event": "verification", "applied": True, "metrics": {"fib_10": 55, "runtime_s": 0.1},
     "missing": {}, "outcome": "SUCCESS", "reason": "all 2 target(s) met"},
    {"ts": 101.0, "event": "final", "metrics": {"fib_10": 55, "runtime_s": 0.1}, "kept_turn": 3, "changed": True,
     "stop": "", "metric_names": ["fib_10", "runtime_s"], "targets": [
         {"text": "fib_10 == 55", "metric": "fib_10", "value": 55, "threshold": 55, "met": True},
         {"text": "runtime_s < 1", "metric": "runtime_s", "value": 0.1, "threshold": 1, "met": True}]},
    {"ts": 101.2, "event": "run_finished", "outcome": "SUCCESS", "reason": "all 2 target(s) met", "turns": 3,
     "brain_calls": 4},
]


def folder_with(tmp_path: Path, events: list[dict]) -> RunFolder:
    root = tmp_path / "20260101-000000-abcdef"
    root.mkdir()
    (root / "events.ndjson").write_text("".join(json.dumps(e) + "\n" for e in events))
    (root / "final_patch.diff").write_text("")
    return RunFolder(root)


def test_report_markdown_snapshot(tmp_path: Path) -> None:
    md = render_markdown(build_report(folder_with(tmp_path, EVENTS)))
    assert md == (SNAPSHOTS / "report.md").read_text()
    assert parse_outcome(md) == "SUCCESS"
    assert len(OUTCOME_RE.findall(md)) == 1


def test_report_json_is_built_from_the_ledger(tmp_path: Path) -> None:
    report = write_reports(folder_with(tmp_path, EVENTS))
    assert report.outcome == "SUCCESS" and report.duration_s == 1.2 and report.brain_calls == 4
    assert [(r.metric, r.baseline, r.turns, r.final) for r in report.metrics] == [
        ("fib_10", 34, {"1": 21, "3": 55}, 55), ("runtime_s", 0.1, {"1": 0.1, "3": 0.1}, 0.1)]
    assert report.audit[0].rule == "protected_paths" and report.audit[0].turn == 2


def test_unfinished_ledger_still_reports_fail(tmp_path: Path) -> None:
    report = build_report(folder_with(tmp_path, EVENTS[:3]))
    assert report.outcome == "FAIL" and "did not finish" in report.reason
    assert parse_outcome(render_markdown(report)) == "FAIL"


def test_outcome_regex_rejects_two_lines() -> None:
    assert parse_outcome("## Outcome: SUCCESS\n## Outcome: FAIL\n") is None
    assert parse_outcome("# x\n## Run Outcome: PARTIAL_SUCCESS\n") == "PARTIAL_SUCCESS"
