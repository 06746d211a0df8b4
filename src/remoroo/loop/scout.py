"""Scouting: run the candidate commands a brain asked to observe, once each, and show it every number.

Before a plan exists, a brain that cannot tell from the code where a metric
is reported may ask (``PlanResponse.observe``) for runs of the engine's own
command candidates. Each runs as a measurement does (sandboxed, stdin closed,
in the isolated copy) under a short timeout, and the tree is reset after it.
The next plan request carries, per command, its exit status, whether it
stopped on reading stdin, and every labelled number it printed or wrote
(:mod:`remoroo.measure.harvest`). A candidate the brain did not name, or a
service, is never run.
"""

from __future__ import annotations

import time
from pathlib import Path

from remoroo.evidence.events import Scouting
from remoroo.loop.state import RunContext
from remoroo.measure.commands import CommandRun
from remoroo.measure.harvest import Found, from_file, from_text
from remoroo.measure.once import Measurement
from remoroo.model.plan import Command, Plan
from remoroo.protocol.wire import CommandCandidate, ObservedValue, Scouted

MAX_SCOUTS = 3
_INPUT = ("EOFError", "EOF when reading a line", "end of file reached while reading", "read: EOF")


def scout_limit_s(ctx: RunContext, ceiling: float) -> float:
    """A scouting run may take a tenth of the time left (between 5 s and 60 s), and never more than a command."""
    return round(min(ceiling, 60.0, max(5.0, 0.1 * ctx.budgets.remaining_s())), 1)


def scout(ctx: RunContext, wanted: list[str], candidates: list[CommandCandidate], ceiling: float) -> list[Scouted]:
    by_run = {c.run: c for c in candidates if not c.service}
    chosen = [by_run[r] for r in dict.fromkeys(wanted) if r in by_run][:MAX_SCOUTS]
    refused = [r for r in wanted if r not in by_run]
    limit = scout_limit_s(ctx, ceiling)
    found: list[Scouted] = [Scouted(run=r, note="not one of the engine's command candidates (or a service): "
                                                "not run") for r in refused]
    for index, cand in enumerate(chosen, 1):
        if ctx.budgets.remaining_s() < 2 * limit:
            found.append(Scouted(run=cand.run, cwd=cand.cwd, note="not run: too little time left"))
            continue
        found.append(_one(ctx, cand, index, limit))
    ctx.folder.append(Scouting(commands=[s.run for s in found],
                               values={s.run: len(s.values) for s in found},
                               notes={s.run: s.note for s in found if s.note}))
    return found


def _one(ctx: RunContext, cand: CommandCandidate, index: int, limit: float) -> Scouted:
    command = Command(name=f"scout{index}", run=cand.run, cwd=cand.cwd, env=cand.env, timeout_s=limit)
    plan = Plan(summary="scouting run", commands=[command])
    logs = ctx.folder.root / "scout" / f"{index}"
    started = time.time()
    ws = ctx.workspace
    head = ws.head()  # the base, or the instrumentation or kept state of a later plan: what the tree must stay
    try:
        result = ctx.measurer.measure(plan, [], ctx.work_root, logs, repeats=1,
                                      deadline=min(ctx.budgets.deadline, time.monotonic() + limit + 5))
        values = _values(result, ctx.work_root, started)
    finally:
        ws.reset(head)  # whatever the scouting run wrote is gone before the baseline
    run = result.commands[0] if result.commands else None
    if run is None:
        return Scouted(run=cand.run, cwd=cand.cwd, note="did not run")
    stderr = _read(run.stderr_log)
    waits = run.exit_code not in (0, None) and any(marker in stderr for marker in _INPUT)
    note = ("stopped on reading stdin (the engine closes it): a command that waits for input cannot be measured"
            if waits else "timed out" if run.timed_out else "")
    return Scouted(run=cand.run, cwd=cand.cwd, exit_code=run.exit_code, timed_out=run.timed_out,
                   duration_s=round(run.duration_s, 3), waits_for_input=waits, note=note,
                   error=_error(run.exit_code, stderr),
                   values=[_view(f) for f in values][:200])


def harvest_measurement(plan: Plan, result: Measurement, tree: Path) -> list[Scouted]:
    """A measured run (the baseline) seen as scouting runs: one per job, with what it printed and wrote."""
    out: list[Scouted] = []
    runs = {c.name: c for c in plan.commands}
    for run in result.commands:
        command = runs.get(run.name)
        if command is None or run.role != "job":
            continue
        values = _printed(run)
        for rel in result.written[:50]:
            values += from_file(tree / rel, rel)
        out.append(Scouted(run=command.run, cwd=command.cwd, exit_code=run.exit_code, timed_out=run.timed_out,
                           duration_s=round(run.duration_s, 3), error=_error(run.exit_code, _read(run.stderr_log)),
                           values=[_view(f) for f in values][:200]))
    return out


def _error(code: int | None, stderr: str) -> str:
    """The last line of a failing command's stderr (the exception), for the brain."""
    if code in (0, None):
        return ""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _values(result: Measurement, tree: Path, started: float) -> list[Found]:
    values = [found for run in result.commands for found in _printed(run)]
    written = set(result.written) | _new_files(tree, started)
    for rel in sorted(written)[:50]:
        values += from_file(tree / rel, rel)
    return values


def _printed(run: CommandRun) -> list[Found]:
    return from_text(_read(run.stdout_log), "stdout") + from_text(_read(run.stderr_log), "stderr")


def _new_files(tree: Path, since: float, limit: int = 5000) -> set[str]:
    """Files of the tree changed since ``since`` (for programs the helper does not observe)."""
    found: set[str] = set()
    for seen, path in enumerate(tree.rglob("*")):
        if seen > limit:
            break
        if ".git" in path.parts or not path.is_file() or path.is_symlink():
            continue
        try:
            if path.stat().st_mtime >= since:
                found.add(path.relative_to(tree).as_posix())
        except OSError:
            continue
    return found


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")[-200_000:]
    except OSError:
        return ""


def _view(found: Found) -> ObservedValue:
    return ObservedValue(label=found.label, value=found.value, source=found.source, path=found.path, key=found.key,
                         line=found.line, unit=found.unit)
