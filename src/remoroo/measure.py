"""Measure a tree: run the plan's commands and read every goal metric.

Engine probes (runtime_s, exit_code, code_runs) come from the engine's own
clock and the processes' exit status. Other metrics come from exactly where
the plan's instrumentation says: a JSON artifact key, a stdout pattern, or a
``remoroo.emit`` call. Artifacts are deleted before the commands run and
must be written during the run; emitted values must carry this run's nonce.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Union

from pydantic import BaseModel, Field

from remoroo.emit import METRICS_FILE_ENV, NONCE_ENV
from remoroo.plan import Command, Instrument, Plan
from remoroo.process import run_process

Value = Union[bool, int, float, str]
TAIL_LINES = 40


class CommandRun(BaseModel):
    name: str
    run: str
    exit_code: int | None
    timed_out: bool
    duration_s: float
    stdout_tail: str
    stderr_tail: str
    stdout_log: str
    stderr_log: str
    skipped: str | None = Field(default=None, description="Why the command did not run.")
    leftover_pids: list[int] = Field(default_factory=list)


class Measurement(BaseModel):
    metrics: dict[str, Value] = Field(default_factory=dict)
    missing: dict[str, str] = Field(default_factory=dict, description="Metric -> why it has no value.")
    commands: list[CommandRun] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list, description="Provenance warnings, e.g. stale artifacts.")
    duration_s: float = 0.0

    @property
    def code_runs(self) -> bool:
        return bool(self.commands) and all(c.exit_code == 0 and not c.timed_out for c in self.commands)

    @property
    def timed_out(self) -> bool:
        return any(c.timed_out for c in self.commands)


class Environment(BaseModel):
    """What every measured command gets besides the plan's own env."""

    base_env: dict[str, str]
    shim_dir: str
    grace_s: float = 1.0


def measure(plan: Plan, metrics: list[str], tree: Path, logs: Path, env: Environment,
            deadline: float) -> Measurement:
    """Run every command of ``plan`` in ``tree`` and read ``metrics``."""
    start = time.perf_counter()
    start_wall = time.time()
    logs.mkdir(parents=True, exist_ok=True)
    nonce = uuid.uuid4().hex
    flags = _clear_artifacts(plan, tree)
    runs = [_run_one(cmd, tree, logs, env, nonce, deadline) for cmd in plan.commands]
    result = Measurement(commands=runs, flags=flags)
    for metric in metrics:
        inst = plan.instrument_for(metric)
        if inst is None:
            result.missing[metric] = "the plan has no instrumentation for it"
            continue
        try:
            result.metrics[metric] = _read(inst, runs, tree, logs, nonce, start_wall=start_wall)
        except LookupError as exc:
            result.missing[metric] = str(exc)
    result.duration_s = time.perf_counter() - start
    return result


def _clear_artifacts(plan: Plan, tree: Path) -> list[str]:
    flags: list[str] = []
    for inst in plan.instrumentation:
        if inst.source == "json_artifact" and inst.path:
            artifact = tree / inst.path
            if artifact.exists():
                flags.append(f"{inst.path} existed before the run and was removed so it cannot count")
                if artifact.is_dir():
                    shutil.rmtree(artifact)
                else:
                    artifact.unlink()
    return flags


def _run_one(cmd: Command, tree: Path, logs: Path, env: Environment, nonce: str, deadline: float) -> CommandRun:
    out, err = logs / f"{cmd.name}.stdout.log", logs / f"{cmd.name}.stderr.log"
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        out.write_text("")
        err.write_text("")
        return CommandRun(name=cmd.name, run=cmd.run, exit_code=None, timed_out=True, duration_s=0.0,
                          stdout_tail="", stderr_tail="", stdout_log=str(out), stderr_log=str(err),
                          skipped="the run's time budget was used up")
    emit_file = logs / f"{cmd.name}.emit.ndjson"
    emit_file.unlink(missing_ok=True)
    child_env = dict(env.base_env)
    child_env.update(cmd.env)
    child_env[METRICS_FILE_ENV] = str(emit_file)
    child_env[NONCE_ENV] = nonce
    child_env["PYTHONPATH"] = ":".join(p for p in (env.shim_dir, child_env.get("PYTHONPATH", "")) if p)
    result = run_process(cmd.run, cwd=tree / cmd.cwd, env=child_env, timeout_s=min(cmd.timeout_s, remaining),
                         stdout_path=out, stderr_path=err, grace_s=env.grace_s)
    return CommandRun(
        name=cmd.name, run=cmd.run, exit_code=result.exit_code, timed_out=result.timed_out,
        duration_s=result.duration_s, stdout_tail=tail(out), stderr_tail=tail(err),
        stdout_log=str(out), stderr_log=str(err), leftover_pids=result.leftover_pids,
    )


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _read(inst: Instrument, runs: list[CommandRun], tree: Path, logs: Path, nonce: str,
          start_wall: float) -> Value:
    chosen = [r for r in runs if inst.command in (None, r.name)]
    if inst.source == "probe":
        return _probe(inst, chosen)
    if inst.source == "stdout":
        return _from_stdout(inst, chosen)
    if inst.source == "emit":
        return _from_emit(inst, chosen, logs, nonce)
    return _from_artifact(inst, tree, start_wall)


def _probe(inst: Instrument, runs: list[CommandRun]) -> Value:
    if not runs:
        raise LookupError(f"command {inst.command!r} did not run")
    if inst.probe == "code_runs":
        return all(r.exit_code == 0 and not r.timed_out for r in runs)
    if any(r.timed_out or r.skipped for r in runs):
        raise LookupError(f"command {runs[0].name!r} timed out, so {inst.probe} has no value")
    if inst.probe == "exit_code":
        return max((r.exit_code or 0 for r in runs), key=abs)
    return round(sum(r.duration_s for r in runs), 6)


def _from_stdout(inst: Instrument, runs: list[CommandRun]) -> Value:
    pattern = re.compile(inst.pattern or "")
    for run in reversed(runs):
        text = Path(run.stdout_log).read_text(encoding="utf-8", errors="replace")
        matches = list(pattern.finditer(text))
        if matches:
            return coerce(matches[-1].group(1))
    raise LookupError(f"no line of {inst.command}'s stdout matched {inst.pattern!r}")


def _from_emit(inst: Instrument, runs: list[CommandRun], logs: Path, nonce: str) -> Value:
    name = inst.name or inst.metric
    found: Value | None = None
    for run in runs:
        emit_file = logs / f"{run.name}.emit.ndjson"
        if not emit_file.is_file():
            continue
        for line in emit_file.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("name") == name and record.get("nonce") == nonce:
                found = record.get("value")
    if found is None:
        raise LookupError(f"nothing called remoroo.emit({name!r}, ...) during this run")
    return found


def _from_artifact(inst: Instrument, tree: Path, start_wall: float) -> Value:
    artifact = tree / (inst.path or "")
    if not artifact.is_file():
        raise LookupError(f"the run did not write {inst.path}")
    if artifact.stat().st_mtime < start_wall:
        raise LookupError(f"{inst.path} was not written during this run")
    try:
        data: object = json.loads(artifact.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LookupError(f"{inst.path} is not valid JSON: {exc}") from exc
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
