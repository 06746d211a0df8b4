"""Measure a tree: run the plan's commands and read every goal metric.

Engine probes (runtime_s, exit_code, code_runs) come from the engine's own
clock and the processes' exit status. Other metrics come from exactly where
the plan's instrumentation says: a JSON artifact key, a stdout pattern, or a
``remoroo.emit`` call. Artifacts are deleted before the commands run and
must be written during the run; emitted values are read from a file made
anew for each measurement.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Union

from pydantic import BaseModel, Field

from remoroo.audit.behaviour import normalize
from remoroo.measure.commands import CommandRun, Environment, execute
from remoroo.measure.harvest import read_structured
from remoroo.measure.probes import junit_cases, read_report_probe
from remoroo.measure.protect import readonly_files
from remoroo.model.metrics import is_memory, is_timing
from remoroo.model.plan import FILE_PROBES, Instrument, Plan

Value = Union[bool, int, float, str]


class Measurement(BaseModel):
    metrics: dict[str, Value] = Field(default_factory=dict)
    missing: dict[str, str] = Field(default_factory=dict, description="Metric -> why it has no value.")
    commands: list[CommandRun] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list, description="Provenance warnings, e.g. stale artifacts.")
    duration_s: float = 0.0
    repeats: int = 1
    samples: dict[str, list[float]] = Field(default_factory=dict, description="Numeric values of every repeat.")
    spread: dict[str, float] = Field(default_factory=dict, description="Median absolute deviation of the samples.")
    inputs: list[str] = Field(default_factory=list, description="Tree files the commands read and never wrote.")
    written: list[str] = Field(default_factory=list, description="Tree files the commands wrote.")
    output: dict[str, list[str]] = Field(default_factory=dict, description=(
        "Each job's stdout about the work (timing lines dropped; lines that varied between repeats masked)."))
    sites: dict[str, list[str]] = Field(default_factory=dict, description=(
        "Emitted metric -> the file:function that emitted it."))
    printed: dict[str, list[str]] = Field(default_factory=dict, description=(
        "Each stdout line a metric's pattern reads -> the file:function that printed it (Python programs)."))
    matched: dict[str, str] = Field(default_factory=dict, description="Stdout metric -> the line its value came from.")
    tests: dict[str, str] = Field(default_factory=dict, description=(
        "Each test case of the JUnit report -> passed, failed or skipped (the measured set is frozen at baseline)."))

    @property
    def code_runs(self) -> bool:
        return bool(self.commands) and all(c.ok for c in self.commands)

    @property
    def timed_out(self) -> bool:
        return any(c.timed_out for c in self.commands)

    def command_summary(self) -> list[dict[str, object]]:
        return [{"name": c.name, "role": c.role, "exit_code": c.exit_code, "timed_out": c.timed_out,
                 "duration_s": round(c.duration_s, 3), "failure": c.failure} for c in self.commands]

    @property
    def problems(self) -> list[str]:
        """Why commands did not run cleanly, in words."""
        found: list[str] = []
        for c in self.commands:
            if c.failure:
                found.append(f"service {c.name!r} {c.failure}")
            elif c.timed_out:
                found.append(f"{c.name!r} timed out")
            elif c.skipped:
                found.append(f"{c.name!r} skipped: {c.skipped}")
        return found


def measure(plan: Plan, metrics: list[str], tree: Path, logs: Path, env: Environment,
            deadline: float) -> Measurement:
    """Run every command of ``plan`` in ``tree`` and read ``metrics``."""
    start = time.perf_counter()
    start_wall = time.time()
    logs.mkdir(parents=True, exist_ok=True)
    flags = _clear_artifacts(plan, tree)
    if env.sandbox.sealed:
        env = env.model_copy(update={"readonly": readonly_files(plan, tree, env.allowed, env.inputs)})
    runs = execute(plan, tree, logs, env, deadline)
    result = Measurement(commands=runs, flags=flags)
    observe(result, plan, logs)
    for metric in metrics:
        inst = plan.instrument_for(metric)
        if inst is None:
            result.missing[metric] = "the plan has no instrumentation for it"
            continue
        try:
            result.metrics[metric] = _read(inst, runs, tree, logs, start_wall=start_wall, matched=result.matched)
        except LookupError as exc:
            result.missing[metric] = str(exc)
            if "copy of" in str(exc):
                result.flags.append(str(exc))
    result.tests = _test_cases(plan, tree, start_wall)
    result.duration_s = time.perf_counter() - start
    return result


def _test_cases(plan: Plan, tree: Path, start_wall: float) -> dict[str, str]:
    for inst in plan.instrumentation:
        report = tree / (inst.path or "")
        if inst.probe in ("tests_passed", "tests_failed", "tests_pass") and inst.path and report.is_file() \
                and report.stat().st_mtime >= start_wall:
            try:
                return junit_cases(report)
            except LookupError:
                return {}
    return {}


def observe(result: Measurement, plan: Plan, logs: Path) -> None:
    """What the helper saw: the files each command opened, each job's output, each emission's site."""
    read: set[str] = set()
    written: set[str] = set()
    for run in result.commands:
        observed = logs / "metrics" / f"{run.name}.inputs"
        if observed.is_file():
            for line in observed.read_text(encoding="utf-8", errors="replace").splitlines():
                kind, _, rel = line.partition(" ")
                (written if kind == "w" else read).add(rel)
        if run.role == "job":
            skip = [i.pattern for i in plan.instrumentation if i.source == "stdout" and i.pattern
                    and i.command in (None, run.name) and (is_timing(i.metric) or is_memory(i.metric))]
            try:
                text = Path(run.stdout_log).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            result.output[run.name] = normalize(text, skip)
        printed = logs / "metrics" / f"{run.name}.sites"
        if printed.is_file():
            for line in printed.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("line"), str):
                    known = result.printed.setdefault(record["line"], [])
                    known += [str(x) for x in record.get("sites", []) if str(x) not in known]
        for record in _emitted(logs, run.name):
            site = record.get("site")
            if isinstance(site, str) and isinstance(record.get("name"), str):
                result.sites.setdefault(str(record["name"]), [])
                if site not in result.sites[str(record["name"])]:
                    result.sites[str(record["name"])].append(site)
    result.written = sorted(written)
    result.inputs = sorted(read - written)


def _emitted(logs: Path, command: str) -> list[dict[str, object]]:
    emit_file = logs / "metrics" / f"{command}.ndjson"
    if not emit_file.is_file():
        return []
    found = []
    for line in emit_file.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            found.append(record)
    return found


def _clear_artifacts(plan: Plan, tree: Path) -> list[str]:
    flags: list[str] = []
    for inst in plan.instrumentation:
        if inst.path and (inst.source == "json_artifact" or inst.probe in FILE_PROBES):
            artifact = tree / inst.path
            if artifact.exists():
                flags.append(f"{inst.path} existed before the run and was removed so it cannot count")
                if artifact.is_dir():
                    shutil.rmtree(artifact)
                else:
                    artifact.unlink()
    return flags


def _read(inst: Instrument, runs: list[CommandRun], tree: Path, logs: Path, start_wall: float,
          matched: dict[str, str]) -> Value:
    chosen = [r for r in runs if inst.command in (None, r.name)]
    if inst.source == "probe" and inst.probe in FILE_PROBES:
        return read_report_probe(inst, tree, start_wall)
    if inst.source == "probe":
        return _probe(inst, chosen)
    if inst.source == "stdout":
        return _from_stdout(inst, chosen, matched)
    if inst.source == "emit":
        return _from_emit(inst, chosen, logs)
    return _from_artifact(inst, tree, start_wall)


def _probe(inst: Instrument, runs: list[CommandRun]) -> Value:
    if not runs:
        raise LookupError(f"command {inst.command!r} did not run")
    if inst.probe == "code_runs":
        return all(r.ok for r in runs)
    if any(r.timed_out or r.skipped for r in runs):
        raise LookupError(f"command {runs[0].name!r} timed out, so {inst.probe} has no value")
    if inst.probe == "exit_code":
        return max((r.exit_code or 0 for r in runs), key=abs)
    if inst.probe == "peak_memory_mb":
        return round(max(r.peak_memory_mb for r in runs), 3)
    if inst.probe == "deterministic":
        raise LookupError("deterministic compares repeats; it is set once the state was measured twice")
    if inst.probe == "cpu_s":  # user + system CPU of the whole process tree: steadier than wall time under load
        return round(sum(r.cpu_s for r in runs), 6)
    return round(sum(r.duration_s for r in runs), 6)


def _from_stdout(inst: Instrument, runs: list[CommandRun], matched: dict[str, str]) -> Value:
    pattern = re.compile(inst.pattern or "")
    for run in reversed(runs):
        log = run.stderr_log if inst.stream == "stderr" else run.stdout_log
        text = Path(log).read_text(encoding="utf-8", errors="replace")
        matches = list(pattern.finditer(text))
        if matches:
            last = matches[-1]
            start = text.rfind("\n", 0, last.start()) + 1
            end = text.find("\n", last.end())
            matched[inst.metric] = text[start:end if end >= 0 else len(text)].rstrip("\r")
            return coerce(last.group(1))
    raise LookupError(f"no line of {inst.command}'s {inst.stream} matched {inst.pattern!r}")


def _from_emit(inst: Instrument, runs: list[CommandRun], logs: Path) -> Value:
    """The last value emitted for the metric; the folder is made empty before each measurement."""
    name = inst.name or inst.metric
    found: Value | None = None
    for run in runs:
        for record in _emitted(logs, run.name):
            value = record.get("value")
            if record.get("name") == name and isinstance(value, (bool, int, float, str)):
                found = value
    if found is None:
        raise LookupError(f"nothing called remoroo.emit({name!r}, ...) during this run")
    return found


def _from_artifact(inst: Instrument, tree: Path, start_wall: float) -> Value:
    artifact = tree / (inst.path or "")
    if not artifact.is_file():
        raise LookupError(f"the run did not write {inst.path}")
    if artifact.stat().st_mtime < start_wall:
        raise LookupError(f"{inst.path} was not written during this run")
    source = _copied_from(artifact, tree)
    if source is not None:
        raise LookupError(f"{inst.path} is a byte-for-byte copy of {source}, not a result of this run")
    data = read_structured(artifact, inst.path or "")
    for part in (inst.key or "").split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            raise LookupError(f"{inst.path} has no key {inst.key!r}")
    if not isinstance(data, (bool, int, float, str)):
        raise LookupError(f"{inst.path}:{inst.key} is a {type(data).__name__}, not a number, bool or string")
    return data


def _copied_from(artifact: Path, tree: Path, limit: int = 5000) -> str | None:
    """A file of the tree (other than the artifact) with exactly the artifact's bytes."""
    data = artifact.read_bytes()
    seen = 0
    for path in tree.rglob("*"):
        if ".git" in path.parts or path == artifact or not path.is_file() or path.is_symlink():
            continue
        seen += 1
        if seen > limit:
            return None
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return path.relative_to(tree).as_posix()
    return None


def coerce(text: str) -> Value:
    text = text.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
