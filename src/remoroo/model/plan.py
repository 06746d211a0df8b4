"""The plan: the single source of truth for what a run executes and measures.

The engine runs exactly the plan's commands and reads metrics exactly where
the plan's instrumentation says. ``loop/planning.validate_plan`` refuses a plan
with any defect (``model/plan_rules.py``, ``index/refs.py``; fed back to the brain),
and :func:`effective_goal` resolves the goal's semantic clauses into measurable
targets through the plan's ``resolved_targets``.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from remoroo.errors import SpecError
from remoroo.model.goal import BaselineRef, Goal, Target
from remoroo.model.spec import parse_spec

PROBES = ("runtime_s", "cpu_s", "exit_code", "code_runs", "peak_memory_mb", "tests_passed", "tests_failed",
          "tests_pass", "coverage", "deterministic")
FILE_PROBES = ("tests_passed", "tests_failed", "tests_pass", "coverage")  # read from a report file the command writes
PROBE_ALIASES = {"all_tests_pass": "tests_pass", "tests_passed_all": "tests_pass", "peak_memory": "peak_memory_mb",
                 "runtime": "runtime_s", "memory_mb": "peak_memory_mb",
                 "cpu_time": "cpu_s", "cpu_time_s": "cpu_s"}
_PROBE_KIND = {"runtime_s": "a duration", "cpu_s": "a duration", "peak_memory_mb": "memory",
               "exit_code": "an exit status",
               "code_runs": "an exit status", "deterministic": "output stability", "tests_passed": "test results",
               "tests_failed": "test results", "tests_pass": "test results", "coverage": "line coverage"}
# code that starts a server: such an entry point never finishes on its own
SERVER_CODE = re.compile(r"serve_forever|HTTPServer|socketserver|uvicorn\.run|\bapp\.run\(|asyncio\.start_server|"
                         r"\.listen\(|http\.ListenAndServe")
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
    probe: Literal["runtime_s", "cpu_s", "exit_code", "code_runs", "peak_memory_mb", "tests_passed", "tests_failed",
                   "tests_pass", "coverage", "deterministic"] | None = None
    path: str | None = Field(default=None, description=(
        "json_artifact: a JSON, YAML or CSV file relative to the repo root (CSV: the last row); "
        "tests_* probes: the JUnit XML the command writes; "
        "coverage: coverage.py's JSON report."))
    key: str | None = Field(default=None, description=(
        "json_artifact: dotted key, e.g. 'eval.accuracy' (CSV: the column name)."))
    pattern: str | None = Field(default=None, description="stdout: regex whose first group is the value.")
    stream: Literal["stdout", "stderr"] = Field(default="stdout", description=(
        "stdout: the stream the pattern reads; 'stderr' for values a program logs (Python's logging module)."))
    name: str | None = Field(default=None, description="emit: the name passed to remoroo.emit (default: metric).")

    @property
    def label(self) -> str:
        """The word that marks where the program reports this metric: the literal just before a stdout pattern's
        capture group (``fib_10=(\\d+)`` -> ``fib_10``; lookarounds skipped), the emit name, the artifact key."""
        if self.source == "emit":
            return self.name or self.metric
        if self.source == "json_artifact":
            return (self.key or "").split(".")[-1]
        if self.source != "stdout" or not self.pattern:
            return ""
        pattern = re.sub(r"\(\?<?[!=](?:\\.|[^)])*\)", "", self.pattern)
        head = re.sub(r"\\[sdwbSDWB]|[\^$*+?]|\{\d*,?\d*\}|\[[^\]]*\]", " ", pattern.split("(", 1)[0])
        words = re.findall(r"[A-Za-z_][\w\-./]*", head.replace("\\", ""))
        if words:
            return str(words[-1]).rstrip("./-")
        named = re.search(rf"(?<![A-Za-z0-9_]){re.escape(self.metric)}(?![A-Za-z0-9_])", self.pattern)
        return self.metric if named else ""


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


def required_metrics(goal: Goal) -> list[str]:
    names = list(goal.metric_names)
    for target in goal.targets:
        if isinstance(target.rhs, BaselineRef) and target.rhs.metric not in names:
            names.append(target.rhs.metric)
    return names


def inside(path: str) -> bool:
    """A relative path that stays inside the repository."""
    pure = PurePosixPath(path)
    return not pure.is_absolute() and ".." not in pure.parts and "\\" not in path
