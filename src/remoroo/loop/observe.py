"""What the loop keeps from a measurement for the brain: log tails (repository-relative) and failure witnesses."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable

from remoroo.audit import AuditContext, AuditFinding, AuditVerdict, audit, check_preserved, overridden, why_protected
from remoroo.audit.behaviour import check_inputs, check_output, check_printed, check_sites, speed_goal
from remoroo.audit.context import is_test_goal
from remoroo.audit.mutant import check_new_tests, mutate, tested_modules
from remoroo.audit.paths import is_test
from remoroo.audit.symbols import frozen_lines
from remoroo.evidence.events import WitnessesWritten
from remoroo.loop.state import RunContext, Setup
from remoroo.measure.once import Measurement
from remoroo.measure.witness import collect, relative, write
from remoroo.model.plan import Plan
from remoroo.model.witness import Witness
from remoroo.protocol.wire import ContextSlice


def log_tails(measurement: Measurement, tree: Path) -> dict[str, str]:
    """Each command's stdout and stderr tails; the brain sees repository-relative paths only."""
    tails: dict[str, str] = {}
    for run in measurement.commands:
        tails[f"{run.name}.stdout"] = relative(run.stdout_tail, tree)
        tails[f"{run.name}.stderr"] = relative(run.stderr_tail, tree)
    return tails


def witnesses(ctx: RunContext, setup: Setup, measurement: Measurement, turn: int, tree: Path) -> tuple[Witness, ...]:
    """Collect and write the witnesses of a measured state; they go to the brain on the next call."""
    found = collect(measurement, setup.plan, setup.goal, setup.baseline_metrics, setup.noise, tree)
    paths = write(found, ctx.folder.turn_dir(turn) / "witnesses", ctx.config.repo)
    if found:
        ctx.folder.append(WitnessesWritten(turn=turn, paths=[f"turns/{turn}/{p}" for p in paths],
                                           summary=[_summary(w) for w in found]))
    return tuple(found)


def _summary(w: Witness) -> str:
    where = f" at {w.where}" if w.where else ""
    what = w.exception or (f"{w.target}: got {w.actual}" if w.target else str(w.actual))
    return f"{w.kind}{where}: {what}"


def audit_change(ctx: RunContext, setup: Setup, old: str, new: str, files: list[str],
                 instrumentation: bool = False) -> AuditVerdict:
    """Audit the change between two commits of the workspace, against the setup's plan and baseline."""
    ws = ctx.workspace
    overrides = tuple(ctx.config.allow) + tuple(f"*:{p}" for p in ctx.config.allow_paths)
    before, after = ws.read_sides(old, new, files)

    @functools.cache
    def read_before(path: str) -> str | None:
        return before[path] if path in before else ws.read_at(old, path)

    @functools.cache
    def exists_after(path: str) -> bool:
        return (after[path] if path in after else ws.read_at(new, path)) is not None

    return audit(AuditContext(
        plan=setup.plan, goal=setup.goal, before=before, after=after,
        baseline=setup.baseline_metrics, harness_text=setup.harness_text,
        inputs=frozenset(setup.baseline.inputs), editable=tuple(ctx.config.editable), instrumentation=instrumentation,
        exists_after=exists_after, read_before=read_before,
    ), overrides)


def measured_findings(ctx: RunContext, setup: Setup, measurement: Measurement) -> list[AuditFinding]:
    """The checks that need the candidate's measurement: preserved outputs, output and inputs, emission sites."""
    base = setup.baseline
    findings: list[AuditFinding] = []
    if setup.plan.preserve:
        findings.append(check_preserved(setup.plan, setup.baseline_metrics, dict(measurement.metrics)))
    if speed_goal(setup.goal) and base.code_runs:
        findings.append(check_output(base.output, measurement.output))
    if base.code_runs and measurement.code_runs:
        findings.append(check_inputs(base.inputs, measurement.inputs, measurement.written))
    findings.append(check_sites(base.sites, measurement.sites, setup.metrics))
    printed = [i.metric for i in setup.plan.instrumentation if i.source == "stdout" and i.metric in setup.metrics]
    findings.append(check_printed(printed, (base.matched, base.printed), (measurement.matched, measurement.printed)))
    overrides = tuple(ctx.config.allow) + tuple(f"*:{p}" for p in ctx.config.allow_paths)
    return overridden(AuditVerdict(passed=True, findings=findings), overrides).findings


def protection(plan: Plan) -> Callable[[str], str | None]:
    """The audit's path rule for ``plan``, for marking the files a brain is shown."""
    return lambda rel: why_protected(rel, plan)


def frozen_tests(setup: Setup, measurement: Measurement) -> Measurement:
    """Test-derived metrics over the test set measured at baseline: new tests must pass, but never count.

    When the goal is about tests, new tests count, once ``hollow_tests`` showed they test something."""
    frozen = {case for case, status in setup.baseline.tests.items() if status != "skipped"}
    if not frozen or not measurement.tests or is_test_goal(setup.goal):
        return measurement
    now = measurement.tests
    passed = sum(1 for case in frozen if now.get(case) == "passed")
    failed = sum(1 for case in frozen if now.get(case) not in ("passed", "skipped")) + sum(
        1 for case, status in now.items() if case not in frozen and status == "failed")
    values: dict[str, int | bool] = {"tests_passed": passed, "tests_failed": failed,
                                     "tests_pass": failed == 0 and passed > 0}
    metrics = dict(measurement.metrics)
    for inst in setup.plan.instrumentation:
        if inst.probe in values and inst.metric in metrics:
            metrics[inst.metric] = values[inst.probe]
    return measurement.model_copy(update={"metrics": metrics})


def provenance(plan: Plan, measurement: Measurement) -> dict[str, str]:
    """Where each instrumented metric's value comes from, in words, for the report."""
    found: dict[str, str] = {}
    for inst in plan.instrumentation:
        command = f"command {inst.command!r}" if inst.command else "every command"
        if inst.source == "probe":
            where = f" ({inst.path})" if inst.path else ""
            found[inst.metric] = f"engine probe {inst.probe} of {command}{where}"
        elif inst.source == "stdout":
            line = measurement.matched.get(inst.metric)
            sites = measurement.printed.get(line, []) if line is not None else []
            by = f", printed by {', '.join(sites)}" if sites else ""
            found[inst.metric] = f"stdout of {command}, pattern {inst.pattern!r}{by}"
        elif inst.source == "emit":
            sites = measurement.sites.get(inst.name or inst.metric, [])
            found[inst.metric] = f"remoroo.emit({inst.name or inst.metric!r}) at {', '.join(sites) or 'no site yet'}"
        else:
            found[inst.metric] = f"{inst.path}:{inst.key}, written by {command} during the measurement"
    return found


def hollow_tests(ctx: RunContext, setup: Setup, commit: str, files: list[str], measurement: Measurement,
                 logs: Path) -> AuditFinding | None:
    """For a goal about tests: the new tests, run against a copy whose tested code is broken, must fail."""
    ws = ctx.workspace
    created = [f for f in files if f.endswith(".py") and is_test(f) and ws.read_at(setup.start_commit, f) is None]
    if not is_test_goal(setup.goal) or not created:
        return None
    tree = ws.candidate_checkout(ctx.folder.root / "work-mutant", commit)
    try:
        present = [p.relative_to(tree).as_posix() for p in tree.rglob("*.py") if ".git" not in p.parts]
        modules = tested_modules({f: (tree / f).read_text(encoding="utf-8", errors="replace") for f in created},
                                 present)
        for module in modules:
            path = tree / module
            try:
                path.write_text(mutate(path.read_text(encoding="utf-8")), encoding="utf-8")
            except (SyntaxError, ValueError):
                continue
        junit = bool(setup.baseline.tests)
        if not junit:  # no per-test report: only the new tests may run, so the exit status is theirs
            for rel in present:
                if is_test(rel) and rel not in created and not rel.endswith("conftest.py"):
                    (tree / rel).unlink()
        result = ctx.measurer.measure(setup.plan, setup.metrics, tree, logs, repeats=1,
                                      deadline=ctx.budgets.deadline)
    finally:
        ws.remove_checkout(tree)
    new_cases = {c: s for c, s in measurement.tests.items() if c not in setup.baseline.tests}
    return check_new_tests(new_cases, result.tests if junit else {}, modules,
                           exit_ok=None if junit else result.code_runs)


def mark_frozen(ctx: RunContext, setup: Setup, context: ContextSlice) -> ContextSlice:
    """Mark in each Python file the brain sees the lines of the metric's own code, which a patch may not change."""
    texts = {v.path: v.content for v in context.files if v.content is not None and v.path.endswith(".py")}

    def read(path: str) -> str | None:
        if path in texts:
            return texts[path]
        file = ctx.work_root / path
        return file.read_text(encoding="utf-8", errors="replace") if file.is_file() else None

    view = AuditContext(plan=setup.plan, goal=setup.goal, before=dict(texts), after=dict(texts), read_before=read,
                        editable=tuple(ctx.config.editable))
    for file in context.files:
        if file.path in texts:
            file.frozen = frozen_lines(view, file.path)
    return context
