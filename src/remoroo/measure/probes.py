"""Engine probes read from report files the measured command writes: JUnit XML and coverage.py JSON.

Never scraped from stdout. The file must be written during this run (it is
deleted before the commands start).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from remoroo.model.plan import Instrument


def read_report_probe(inst: Instrument, tree: Path, start_wall: float) -> float | int | bool:
    path = tree / (inst.path or "")
    if not path.is_file():
        raise LookupError(f"the run did not write {inst.path} (probe {inst.probe})")
    if path.stat().st_mtime < start_wall:
        raise LookupError(f"{inst.path} was not written during this run")
    if inst.probe == "coverage":
        return _coverage(path)
    passed, failed = junit_counts(path)
    if inst.probe == "tests_passed":
        return passed
    if inst.probe == "tests_failed":
        return failed
    return failed == 0 and passed > 0


def junit_counts(path: Path) -> tuple[int, int]:
    """(passed, failed) over every testcase; errors count as failures, skips as neither."""
    cases = junit_cases(path)
    return (sum(1 for v in cases.values() if v == "passed"), sum(1 for v in cases.values() if v == "failed"))


def junit_cases(path: Path) -> dict[str, str]:
    """Each testcase (``classname::name``, numbered when repeated) -> passed, failed or skipped."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise LookupError(f"{path.name} is not JUnit XML: {exc}") from exc
    cases: dict[str, str] = {}
    for case in root.iter("testcase"):
        outcome = {child.tag for child in case}
        base = f"{case.get('classname', '')}::{case.get('name', '')}"
        key, n = base, 1
        while key in cases:
            n += 1
            key = f"{base}#{n}"
        cases[key] = "failed" if outcome & {"failure", "error"} else "skipped" if "skipped" in outcome else "passed"
    return cases


def _coverage(path: Path) -> float:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return round(float(data["totals"]["percent_covered"]), 4)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LookupError(f"{path.name} is not a coverage.py JSON report: {exc}") from exc
