"""The plan: the single source of truth for what a run executes and measures.

The engine runs exactly the plan's commands and reads metrics exactly where
the plan's instrumentation says. :func:`validate_plan` refuses a plan with
any defect (fed back to the brain), and resolves the goal's semantic clauses
into measurable targets through the plan's ``resolved_targets``.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from remoroo.errors import PlanRejected, SpecError
from remoroo.goal import BaselineRef, Goal, Target
from remoroo.plan_refs import file_refs, tool_defects
from remoroo.spec import parse_spec

PROBES = ("runtime_s", "exit_code", "code_runs", "peak_memory_mb", "tests_passed", "tests_failed", "tests_pass",
          "coverage", "deterministic")
FILE_PROBES = ("tests_passed", "tests_failed", "tests_pass", "coverage")  # read from a report file the command writes
PROBE_ALIASES = {"all_tests_pass": "tests_pass", "tests_passed_all": "tests_pass", "peak_memory": "peak_memory_mb",
                 "runtime": "runtime_s", "memory_mb": "peak_memory_mb"}
_PROBE_KIND = {"runtime_s": "a duration", "peak_memory_mb": "memory", "exit_code": "an exit status",
               "code_runs": "an exit status", "deterministic": "output stability", "tests_passed": "test results",
               "tests_failed": "test results", "tests_pass": "test results", "coverage": "line coverage"}
_METRIC_KIND = (("a duration", re.compile(r"time|latency|duration|runtime|elapsed|seconds|_(s|ms|us|ns|sec)$", re.I)),
                ("memory", re.compile(r"mem|rss|heap|_(mb|gb|kb|mib|gib|bytes)$", re.I)),
                ("a computed value", re.compile(r"acc|f1|precision|recall|auc|loss|error|score|bleu|rouge|"
                                                r"perplexity|mse|mae|rmse|reward|answer|result|fib", re.I)))
_IDENT = r"^[A-Za-z_][A-Za-z0-9_\-]*$"
_LOCAL_URL = re.compile(r"^http://(127\.0\.0\.1|localhost)(:[^/]+)?(/.*)?$")


class Readiness(BaseModel):
    """How the engine knows a service is ready: a TCP port, an HTTP URL, or a log line."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["tcp", "http", "log"]
    port: str | None = Field(default=None, description="tcp: a port number or a {port} placeholder.")
    url: str | None = Field(default=None, description="http: a URL on 127.0.0.1 or localhost; any status < 500.")
    pattern: str | None = Field(default=None, description="log: a regex searched in the service's output.")
    timeout_s: float = Field(default=30.0, gt=0)


class Command(BaseModel):
    """One shell command of the plan, in its own session.

    A ``job`` runs to completion. A ``service`` is started in the background,
    must pass its readiness probe before the next command starts, and is torn
    down (its whole process tree) after the jobs, in reverse order. ``{port}``
    or ``{port:NAME}`` anywhere in ``run``, ``env`` or the probe is replaced by
    a free port on 127.0.0.1, the same one everywhere in one measurement.
    """

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=_IDENT)
    run: str = Field(min_length=1, description="Shell command line, run with /bin/sh -c.")
    cwd: str = Field(default=".", description="Folder relative to the repository root.")
    timeout_s: float = Field(default=120.0, gt=0)
    env: dict[str, str] = Field(default_factory=dict)
    role: Literal["job", "service"] = "job"
    ready: Readiness | None = None
    depends_on: list[str] = Field(default_factory=list, description=(
        "Earlier commands that must have succeeded (a job: exit 0; a service: ready) before this one runs."))


class Instrument(BaseModel):
    """Where one goal metric comes from."""

    model_config = ConfigDict(extra="forbid")
    metric: str
    source: Literal["probe", "json_artifact", "stdout", "emit"]
    command: str | None = Field(
        default=None, description="Command whose run produces the metric; None = all commands."
    )
    probe: Literal["runtime_s", "exit_code", "code_runs", "peak_memory_mb", "tests_passed", "tests_failed",
                   "tests_pass", "coverage", "deterministic"] | None = None
    path: str | None = Field(default=None, description=(
        "json_artifact: file relative to the repo root; tests_* probes: the JUnit XML the command writes; "
        "coverage: coverage.py's JSON report."))
    key: str | None = Field(default=None, description="json_artifact: dotted key, e.g. 'eval.accuracy'.")
    pattern: str | None = Field(default=None, description="stdout: regex whose first group is the value.")
    name: str | None = Field(default=None, description="emit: the name passed to remoroo.emit (default: metric).")


class PatchIntent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str
    files: list[str] = Field(default_factory=list)
    creates: list[str] = Field(default_factory=list, description="Files this intent will create.")


class ResolvedTarget(BaseModel):
    """A semantic clause of the goal, turned into a measurable spec."""

    model_config = ConfigDict(extra="forbid")
    clause: str
    spec: str


class Unmeasurable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clause: str
    reason: str


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1] = 1
    summary: str = ""
    commands: list[Command] = Field(min_length=1)
    instrumentation: list[Instrument] = Field(default_factory=list)
    patch_intents: list[PatchIntent] = Field(default_factory=list)
    protected_paths: list[str] = Field(default_factory=list)
    resolved_targets: list[ResolvedTarget] = Field(default_factory=list)
    preserve: list[str] = Field(default_factory=list, description=(
        "Metrics that must keep their baseline value (an output checksum, tests passed): behaviour preservation."))
    unmeasurable: list[Unmeasurable] = Field(default_factory=list)

    def command(self, name: str) -> Command:
        return next(c for c in self.commands if c.name == name)

    def instrument_for(self, metric: str) -> Instrument | None:
        return next((i for i in self.instrumentation if i.metric == metric), None)


def effective_goal(plan: Plan, goal: Goal) -> Goal:
    """The goal with the plan's resolved semantic clauses added as targets."""
    extra: list[Target] = []
    for resolved in plan.resolved_targets:
        targets, semantic = parse_spec(resolved.spec)
        if semantic:
            raise SpecError(f"resolved spec {resolved.spec!r} is itself not measurable")
        extra.extend(targets)
    resolved_texts = {r.clause.strip() for r in plan.resolved_targets}
    left = tuple(s for s in goal.semantic if s.text.strip() not in resolved_texts)
    return goal.model_copy(update={"targets": goal.targets + tuple(extra), "semantic": left})


def validate_plan(plan: Plan, goal: Goal, root: Path) -> Goal:
    """Return the effective goal, or raise :class:`PlanRejected` naming every defect."""
    defects: list[str] = []
    try:
        full = effective_goal(plan, goal)
    except SpecError as exc:
        raise PlanRejected([f"resolved_targets: {exc}"]) from exc
    declared_unmeasurable = {u.clause.strip() for u in plan.unmeasurable}
    for clause in full.semantic:
        if clause.text.strip() not in declared_unmeasurable:
            defects.append(
                f"goal clause {clause.text!r} is not measurable as written: add a resolved_targets "
                "entry turning it into a spec such as 'accuracy >= 0.9', or list it under unmeasurable with a reason"
            )
    defects += _command_defects(plan, root)
    defects += _instrument_defects(plan, full, root)
    for intent in plan.patch_intents:
        for path in intent.files + intent.creates:
            if not _inside(path):
                defects.append(f"patch intent {intent.description!r} names {path!r}, outside the repository")
    for path in plan.protected_paths:
        if not _inside(path.rstrip("/*") or "."):
            defects.append(f"protected path {path!r} is outside the repository")
    if defects:
        raise PlanRejected(defects)
    return full


def required_metrics(goal: Goal) -> list[str]:
    names = list(goal.metric_names)
    for target in goal.targets:
        if isinstance(target.rhs, BaselineRef) and target.rhs.metric not in names:
            names.append(target.rhs.metric)
    return names


def _service_defects(plan: Plan) -> list[str]:
    defects: list[str] = []
    if not any(c.role == "job" for c in plan.commands):
        defects.append("the plan has no job: services only run while at least one job measures them")
    earlier: list[str] = []
    for cmd in plan.commands:
        for dep in cmd.depends_on:
            if dep not in earlier:
                defects.append(f"command {cmd.name!r} depends on {dep!r}, which is not an earlier command of the plan")
        earlier.append(cmd.name)
        probe = cmd.ready
        if cmd.role == "job":
            if probe is not None:
                defects.append(f"command {cmd.name!r} is a job; only a service takes a readiness probe")
            continue
        if probe is None:
            defects.append(f"service {cmd.name!r} needs a readiness probe: tcp (port), http (url) or log (pattern)")
        elif probe.kind == "tcp" and not probe.port:
            defects.append(f"service {cmd.name!r}: a tcp probe needs a port, e.g. '{{port}}'")
        elif probe.kind == "http" and not _LOCAL_URL.match(probe.url or ""):
            defects.append(f"service {cmd.name!r}: an http probe needs a url on 127.0.0.1 or localhost")
        elif probe.kind == "log" and not probe.pattern:
            defects.append(f"service {cmd.name!r}: a log probe needs a pattern")
    return defects


def _command_defects(plan: Plan, root: Path) -> list[str]:
    defects: list[str] = _service_defects(plan)
    seen: set[str] = set()
    created = {str(PurePosixPath(p)) for i in plan.patch_intents for p in i.creates + i.files}
    for cmd in plan.commands:
        if cmd.name in seen:
            defects.append(f"command name {cmd.name!r} is used twice")
        seen.add(cmd.name)
        if not _inside(cmd.cwd):
            defects.append(f"command {cmd.name!r}: cwd {cmd.cwd!r} is outside the repository")
            continue
        if not (root / cmd.cwd).is_dir():
            defects.append(f"command {cmd.name!r}: cwd {cmd.cwd!r} does not exist")
            continue
        defects += tool_defects(cmd.name, cmd.run, root, cmd.cwd)
        for ref in file_refs(cmd.run):
            rel = str(PurePosixPath(cmd.cwd) / ref) if cmd.cwd != "." else ref
            rel = str(PurePosixPath(rel))
            if not _inside(rel):
                defects.append(f"command {cmd.name!r} references {ref!r}, outside the repository")
            elif not (root / rel).exists() and rel not in created:
                defects.append(
                    f"command {cmd.name!r} references {ref!r}, which does not exist and no patch intent creates it"
                )
    return defects


def _instrument_defects(plan: Plan, goal: Goal, root: Path) -> list[str]:
    defects: list[str] = []
    names = {c.name for c in plan.commands}
    for metric in required_metrics(goal) + [m for m in plan.preserve if m not in required_metrics(goal)]:
        if plan.instrument_for(metric) is None:
            hint = (
                f" ({metric} is an engine probe: add source 'probe', probe '{metric}')"
                if metric in PROBES else ""
            )
            defects.append(f"goal metric {metric!r} has no instrumentation target{hint}")
    for inst in plan.instrumentation:
        where = f"instrumentation for {inst.metric!r}"
        if inst.command is not None and inst.command not in names:
            defects.append(f"{where} names command {inst.command!r}, which the plan does not have")
        if inst.source == "probe" and inst.probe is None:
            defects.append(f"{where}: source 'probe' needs probe, one of {', '.join(PROBES)}")
        elif inst.source == "probe" and inst.probe is not None:
            defects += _probe_mismatch(where, inst.metric, inst.probe)
        if inst.source == "probe" and inst.probe in FILE_PROBES and not (inst.path and _inside(inst.path)):
            kind = "coverage JSON (coverage json -o PATH)" if inst.probe == "coverage" else \
                "JUnit XML (pytest --junitxml=PATH)"
            defects.append(f"{where}: probe {inst.probe!r} needs path: the {kind} the command writes in the repo")
        if inst.source == "json_artifact":
            if not inst.path or not inst.key:
                defects.append(f"{where}: source 'json_artifact' needs both path and key")
            elif not _inside(inst.path):
                defects.append(f"{where}: artifact path {inst.path!r} is outside the repository")
        if inst.source == "stdout":
            defects += _pattern_defects(where, inst)
    return defects


def _pattern_defects(where: str, inst: Instrument) -> list[str]:
    if inst.command is None:
        return [f"{where}: source 'stdout' needs the command whose output holds the metric"]
    if not inst.pattern:
        return [f"{where}: source 'stdout' needs a pattern, e.g. 'accuracy=([0-9.]+)'"]
    try:
        compiled = re.compile(inst.pattern)
    except re.error as exc:
        return [f"{where}: pattern {inst.pattern!r} is not a valid regex ({exc})"]
    if compiled.groups < 1:
        return [f"{where}: pattern {inst.pattern!r} needs a capture group around the value"]
    literal = re.sub(r"\\.|\[[^\]]*\]|\(\?[:P<=!][^)]*|[()?*+{}|^$.\d,]", "", inst.pattern)
    whole_line = inst.pattern.startswith("^") and inst.pattern.endswith("$")  # the line is the value
    if not whole_line and not re.search(r"[A-Za-z]", literal):
        return [f"{where}: pattern {inst.pattern!r} has no label, so it would read any number the command prints; "
                f"anchor it on the text before the value, e.g. '{inst.metric}=([0-9.]+)'"]
    return []


def _probe_mismatch(where: str, metric: str, probe: str) -> list[str]:
    """A probe measures one quantity; a metric that plainly names another cannot come from it."""
    if PROBE_ALIASES.get(metric, metric) == probe:
        return []
    measures = _PROBE_KIND.get(probe, probe)
    for kind, pattern in _METRIC_KIND:
        if pattern.search(metric) and kind != measures:
            return [f"{where}: probe {probe!r} measures {measures}, which cannot produce {metric!r} "
                    f"(it names {kind}); report it from the code (stdout, json_artifact or emit)"
                    + (" or use probe 'runtime_s'" if kind == "a duration" else "")
                    + (" or use probe 'peak_memory_mb'" if kind == "memory" else "")]
    return []


def _inside(path: str) -> bool:
    pure = PurePosixPath(path)
    return not pure.is_absolute() and ".." not in pure.parts and "\\" not in path
