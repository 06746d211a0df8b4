"""Finding cases: every ``*/case.json`` under a folder, at any depth of category folders."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

from pydantic import BaseModel

from remoroo.errors import CaseError
from remoroo.evidence.report import parse_outcome
from remoroo.model.case import load_case


class BenchCase(BaseModel):
    """A case as found: valid (with its repository) or invalid (with the reason)."""

    key: str  # the case folder relative to the suite, e.g. "should_succeed/fibonacci_fix"
    case_id: str
    category: str
    case_file: str
    repo: str | None = None
    expected: str = "undetermined"
    timeout_s: float = 600.0
    max_turns: int = 8
    invalid: str | None = None


def discover(root: Path, include: list[str] | None = None) -> list[BenchCase]:
    root = Path(root)
    if not root.is_dir():
        raise CaseError(f"No suite at {root}: pass a folder that holds */case.json files.")
    found: list[BenchCase] = []
    case_dirs: set[Path] = set()
    for case_file in sorted(root.rglob("case.json"), key=lambda p: (len(p.parts), p.as_posix())):
        if ".remoroo" in case_file.parts or any(parent in case_dirs for parent in case_file.parents):
            continue  # a case.json inside another case's folder (its repository) is not a case
        case_dirs.add(case_file.parent)
        key = case_file.parent.relative_to(root).as_posix()
        category = key.rsplit("/", 1)[0] if "/" in key else ""
        try:
            case, repo = load_case(case_file)
        except CaseError as exc:
            raw_id = _raw_id(case_file) or case_file.parent.name
            found.append(BenchCase(key=key, case_id=raw_id, category=category, case_file=str(case_file),
                                   invalid=str(exc)))
            continue
        found.append(BenchCase(key=key, case_id=case.case_id, category=category, case_file=str(case_file),
                               repo=str(repo), expected=case.expected_outcome, timeout_s=case.timeout_s,
                               max_turns=case.max_turns))
    if include:
        missing = unmatched(found, include)
        if missing:
            known = ", ".join(c.case_id for c in found[:12]) + (", ..." if len(found) > 12 else "")
            raise CaseError(f"--include {', '.join(repr(p) for p in missing)} matches no case under {root}: give a "
                            f"case id, a case folder or a category glob (cases: {known or 'none'}).")
        found = [c for c in found if any(_included(c, pattern) for pattern in include)]
    return sorted(found, key=lambda c: c.key)


def _raw_id(case_file: Path) -> str | None:
    try:
        data = json.loads(case_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("case_id") if isinstance(data, dict) and isinstance(data.get("case_id"), str) else None


def _included(case: BenchCase, pattern: str) -> bool:
    """A case id, a key or a glob of keys (``should_succeed/*``), or a folder path given as it is typed: the case's
    own folder (``cases/fib_fix/``, ``./fib_fix``, absolute) or a folder above it (a category)."""
    if case.case_id == pattern or fnmatch.fnmatchcase(case.key, pattern) or case.key == pattern:
        return True
    folder = Path(case.case_file).parent.resolve()
    given = Path(pattern).expanduser()
    if given.is_dir():
        target = given.resolve()
        return folder == target or target in folder.parents
    trimmed = pattern.strip("/").removeprefix("./")
    return bool(trimmed) and (case.key == trimmed or case.key.startswith(trimmed + "/")
                              or case.key.endswith("/" + trimmed))


def unmatched(cases: list[BenchCase], include: list[str]) -> list[str]:
    """The --include patterns that match no case: a typo says so instead of running nothing."""
    return [p for p in include if not any(_included(c, p) for c in cases)]


def newest_report(repo: Path, since: float | None = None) -> Path | None:
    """The final_report.md of the newest run of ``repo`` (run ids sort by start time); with ``since``, only a
    report written after that time (an older run's report is not this run's)."""
    runs = repo / ".remoroo" / "runs"
    if not runs.is_dir():
        return None
    for run in sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True):
        report = run / "final_report.md"
        if report.is_file():
            return report if since is None or report.stat().st_mtime >= since - 1.0 else None
    return None


def finished_outcome(repo: Path) -> tuple[str, Path] | None:
    report = newest_report(repo)
    if report is None:
        return None
    outcome = parse_outcome(report.read_text(encoding="utf-8"))
    return (outcome, report) if outcome else None
