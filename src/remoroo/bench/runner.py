"""Running a suite: skip what has a report, run the rest as separate engine processes.

Each case is ``remoroo run --case`` in its own process session, with the
case's ``timeout_s`` enforced from outside as well (plus a margin for the
final verification): a crashing or hanging case is recorded as such and
never stops the others. Work is spread over a local pool (``--jobs``) or a
dask.distributed cluster (``--cluster local|tcp://HOST:PORT``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

from pydantic import BaseModel

from remoroo.bench.cases import BenchCase, finished_outcome, newest_report
from remoroo.bench.shared import SharedResults
from remoroo.evidence.events import CandidateDone, Event, PatchesRejected
from remoroo.evidence.ledger import RunFolder
from remoroo.evidence.store import ObjectStore
from remoroo.exec.pool import make_executor
from remoroo.exec.process import run_process

MARGIN_S = 60.0


class BenchOptions(BaseModel):
    brain: str = "search"
    rerun: bool = False
    jobs: int = 1
    cluster: str | None = None
    extra_args: list[str] = []
    env: dict[str, str] = {}
    store: str | None = None  # s3://BUCKET/PREFIX shared by every machine that runs this suite
    store_endpoint: str | None = None
    timeout_s: float | None = None  # each case's time budget, instead of its case.json's timeout_s
    max_turns: int | None = None  # each case's turns, instead of its case.json's max_turns


class CaseResult(BaseModel):
    key: str
    case_id: str
    category: str
    expected: str
    outcome: str  # SUCCESS | PARTIAL_SUCCESS | FAIL | TIMEOUT | CRASH | REFUSED | INVALID
    status: str  # run | skipped | invalid | timeout | crashed | refused
    correct: bool | None
    turns: int = 0
    wall_s: float = 0.0
    vetoes: int = 0
    malformed_brain_outputs: int = 0
    reason: str = ""
    report: str | None = None


def run_suite(cases: list[BenchCase], options: BenchOptions) -> Iterator[CaseResult]:
    """Results as they finish: skipped and invalid cases first, then the runs."""
    todo: list[BenchCase] = []
    shared = shared_results(options)
    for case in cases:
        if case.invalid:
            yield CaseResult(key=case.key, case_id=case.case_id, category=case.category, expected=case.expected,
                             outcome="INVALID", status="invalid", correct=None, reason=case.invalid)
            continue
        done = None if options.rerun else finished_outcome(Path(case.repo or ""))
        if done is not None:
            if shared is not None:
                shared.record(case.key, done[1])
            yield summarize(case, done[1], status="skipped")
            continue
        elsewhere = None if options.rerun or shared is None else shared.finished(case.key)
        if elsewhere is not None:  # another machine finished it
            yield summarize(case, elsewhere, status="skipped")
            continue
        todo.append(case)
    if not todo:
        return
    executor = make_executor(options.cluster, options.jobs)
    try:
        for index, result in executor.run(partial(run_case, options=options), todo):
            result = result if isinstance(result, CaseResult) else _failed(todo[index], result)
            if shared is not None and result.report and result.status == "run":
                shared.record(result.key, Path(result.report))
            yield result
    finally:
        executor.close()


def python3_in_use(env: dict[str, str] | os._Environ[str]) -> str:
    """Which ``python3`` the cases' commands find on PATH, with its version: a suite's results depend on it."""
    import shutil
    import subprocess

    found = shutil.which("python3", path=env.get("PATH", os.defpath))
    if found is None:
        return "no python3 on PATH"
    try:
        done = subprocess.run([found, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                              text=True, timeout=20, stdin=subprocess.DEVNULL)
        version = done.stdout.strip() or "version unknown"
    except (OSError, subprocess.SubprocessError):
        version = "version unknown"
    return f"{found} (Python {version})"


def shared_results(options: BenchOptions) -> SharedResults | None:
    if not options.store:
        return None
    store = ObjectStore(options.store, options.store_endpoint)
    store.check()
    return SharedResults(store)


def _failed(case: BenchCase, exc: BaseException) -> CaseResult:
    return CaseResult(key=case.key, case_id=case.case_id, category=case.category, expected=case.expected,
                      outcome="CRASH", status="crashed", correct=_engine_error(case.expected),
                      reason=f"{type(exc).__name__}: {exc}")


def _engine_error(expected: str) -> bool | None:
    """An engine that crashed, hung or refused its case did not reach an outcome: never a correct FAIL."""
    return None if expected == "undetermined" else False


def run_case(case: BenchCase, options: BenchOptions) -> CaseResult:
    """Run one case in its own engine process (this function also runs on dask workers)."""
    logs = Path(tempfile.mkdtemp(prefix="remoroo-bench-"))
    timeout_s = options.timeout_s or case.timeout_s
    command = [sys.executable, "-m", "remoroo.cli", "run", "--case", case.case_file, "--brain", options.brain,
               "--yes", *options.extra_args]
    if options.timeout_s is not None:
        command += ["--timeout", f"{options.timeout_s:g}"]
    if options.max_turns is not None:
        command += ["--max-turns", str(options.max_turns)]
    if options.store:  # each case's run folder goes to the shared store too
        command += ["--store", options.store] + (["--store-endpoint", options.store_endpoint]
                                                 if options.store_endpoint else [])
    env = {**os.environ, **options.env}
    started, started_wall = time.monotonic(), time.time()
    result = run_process(" ".join(_quote(c) for c in command), cwd=Path(case.case_file).parent, env=env,
                         timeout_s=timeout_s + MARGIN_S, stdout_path=logs / "stdout.log",
                         stderr_path=logs / "stderr.log")
    wall = time.monotonic() - started
    if result.timed_out:
        return CaseResult(key=case.key, case_id=case.case_id, category=case.category, expected=case.expected,
                          outcome="TIMEOUT", status="timeout", correct=_engine_error(case.expected), wall_s=wall,
                          reason=f"the engine did not finish within {timeout_s + MARGIN_S:g}s and was killed")
    report = newest_report(Path(case.repo or ""), since=started_wall)
    if result.exit_code not in (0, 1, 3) or report is None:
        tail = (logs / "stderr.log").read_text(errors="replace")[-500:].strip()
        refused = result.exit_code == 2
        return CaseResult(key=case.key, case_id=case.case_id, category=case.category, expected=case.expected,
                          outcome="REFUSED" if refused else "CRASH", status="refused" if refused else "crashed",
                          correct=_engine_error(case.expected), wall_s=wall,
                          reason=f"exit code {result.exit_code}: {tail}" if tail else f"exit code {result.exit_code}")
    return summarize(case, report, status="run", wall_s=wall)


def summarize(case: BenchCase, report_md: Path, *, status: str, wall_s: float | None = None) -> CaseResult:
    """A result from a run folder's report and ledger."""
    from remoroo.evidence.report import parse_outcome

    outcome = parse_outcome(report_md.read_text(encoding="utf-8")) or "FAIL"
    data = _json(report_md.with_suffix(".json"))
    events = _events(report_md.parent)
    vetoes = sum(1 for e in events if isinstance(e, CandidateDone) and e.decision == "VETOED")
    malformed = sum(1 for e in events if isinstance(e, PatchesRejected))
    malformed += sum(1 for e in events if "malformed model output" in str(getattr(e, "reason", "") or ""))
    return CaseResult(
        key=case.key, case_id=case.case_id, category=case.category, expected=case.expected, outcome=outcome,
        status=status, correct=_correct(case.expected, outcome), turns=len(data.get("turns", [])),
        wall_s=round(wall_s if wall_s is not None else float(data.get("duration_s", 0.0)), 3),
        vetoes=vetoes, malformed_brain_outputs=malformed, reason=str(data.get("reason", "")),
        report=str(report_md),
    )


def _correct(expected: str, outcome: str) -> bool | None:
    if expected == "undetermined":
        return None
    return expected.upper() == outcome.upper()


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _events(run_dir: Path) -> list[Event]:
    """The run's typed ledger; an unreadable one (a crash mid-write, another version) counts as empty."""
    try:
        return RunFolder(run_dir).events()
    except (OSError, ValueError):
        return []


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


Progress = Callable[[CaseResult], None]
