"""Run stage: execute a plan's commands (services and jobs) in a tree, leaving nothing running.

Commands start in plan order. A service must pass its readiness probe before
the next command starts; if it dies or never becomes ready, the remaining
jobs are skipped with that reason. Services are torn down in reverse order,
whole process trees, even when a job fails, times out, or the run is
interrupted.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, Field

from remoroo.emit import METRICS_FILE_ENV, NONCE_ENV
from remoroo.exec.process import Running, run_process
from remoroo.measure.services import allocate_ports, concrete, wait_ready
from remoroo.model.plan import Command, Plan

TAIL_LINES = 40


class Environment(BaseModel):
    """What every measured command gets besides the plan's own env."""

    base_env: dict[str, str]
    shim_dir: str
    grace_s: float = 1.0


class CommandRun(BaseModel):
    name: str
    run: str
    role: str = "job"
    exit_code: int | None
    timed_out: bool
    duration_s: float
    stdout_tail: str
    stderr_tail: str
    stdout_log: str
    stderr_log: str
    skipped: str | None = Field(default=None, description="Why the command did not run.")
    failure: str | None = Field(default=None, description="Why a service failed (never ready, died early).")
    ready_s: float | None = Field(default=None, description="Seconds until a service passed its probe.")
    leftover_pids: list[int] = Field(default_factory=list)
    peak_memory_mb: float = Field(default=0.0, description="Peak resident memory of the whole process tree.")

    @property
    def ok(self) -> bool:
        if self.role == "service":
            return self.failure is None and self.skipped is None
        return self.exit_code == 0 and not self.timed_out and self.skipped is None


def execute(plan: Plan, tree: Path, logs: Path, env: Environment, nonce: str, deadline: float) -> list[CommandRun]:
    """Run every command; ``deadline`` is on the ``time.monotonic`` clock."""
    ports = allocate_ports(plan)
    runs: list[CommandRun] = []
    services: list[tuple[Command, Running, CommandRun]] = []
    blocked: str | None = None
    try:
        for planned in plan.commands:
            cmd = concrete(planned, ports)
            failed = [r.name for r in runs if r.name in cmd.depends_on and not r.ok]
            if blocked is not None:
                runs.append(_skipped(cmd, logs, blocked))
            elif failed:
                runs.append(_skipped(cmd, logs, f"it depends on {', '.join(map(repr, failed))}, which failed"))
            elif cmd.role == "service":
                running, record = _start_service(cmd, tree, logs, env, nonce, deadline)
                runs.append(record)
                if running is not None:
                    services.append((cmd, running, record))
                if record.failure is not None:
                    blocked = f"service {cmd.name!r} {record.failure}"
            else:
                runs.append(_run_job(cmd, tree, logs, env, nonce, deadline))
    finally:
        for _, running, record in reversed(services):
            _stop_service(running, record)
    return runs


def _child_env(cmd: Command, logs: Path, env: Environment, nonce: str) -> dict[str, str]:
    emit_file = logs / f"{cmd.name}.emit.ndjson"
    emit_file.unlink(missing_ok=True)
    child = dict(env.base_env)
    child.update(cmd.env)
    child[METRICS_FILE_ENV] = str(emit_file)
    child[NONCE_ENV] = nonce
    child["PYTHONPATH"] = ":".join(p for p in (env.shim_dir, child.get("PYTHONPATH", "")) if p)
    return child


def _paths(cmd: Command, logs: Path) -> tuple[Path, Path]:
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"{cmd.name}.stdout.log", logs / f"{cmd.name}.stderr.log"


def _skipped(cmd: Command, logs: Path, why: str) -> CommandRun:
    out, err = _paths(cmd, logs)
    out.write_text("")
    err.write_text("")
    return CommandRun(name=cmd.name, run=cmd.run, role=cmd.role, exit_code=None, timed_out=False, duration_s=0.0,
                      stdout_tail="", stderr_tail="", stdout_log=str(out), stderr_log=str(err), skipped=why)


def _run_job(cmd: Command, tree: Path, logs: Path, env: Environment, nonce: str, deadline: float) -> CommandRun:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        record = _skipped(cmd, logs, "the run's time budget was used up")
        return record.model_copy(update={"timed_out": True})
    out, err = _paths(cmd, logs)
    result = run_process(cmd.run, cwd=tree / cmd.cwd, env=_child_env(cmd, logs, env, nonce),
                         timeout_s=min(cmd.timeout_s, remaining), stdout_path=out, stderr_path=err,
                         grace_s=env.grace_s)
    return CommandRun(
        name=cmd.name, run=cmd.run, exit_code=result.exit_code, timed_out=result.timed_out,
        duration_s=result.duration_s, stdout_tail=tail(out), stderr_tail=tail(err),
        stdout_log=str(out), stderr_log=str(err), leftover_pids=result.leftover_pids,
        peak_memory_mb=result.peak_memory_mb,
    )


def _start_service(cmd: Command, tree: Path, logs: Path, env: Environment, nonce: str,
                   deadline: float) -> tuple[Running | None, CommandRun]:
    if deadline - time.monotonic() <= 0:
        return None, _skipped(cmd, logs, "the run's time budget was used up")
    out, err = _paths(cmd, logs)
    running = Running(cmd.run, cwd=tree / cmd.cwd, env=_child_env(cmd, logs, env, nonce), stdout_path=out,
                      stderr_path=err, grace_s=env.grace_s)
    assert cmd.ready is not None
    probe_deadline = time.perf_counter() + max(0.0, deadline - time.monotonic())
    failure = wait_ready(cmd.ready, running, (out, err), probe_deadline)
    record = CommandRun(name=cmd.name, run=cmd.run, role="service", exit_code=None, timed_out=False,
                        duration_s=0.0, stdout_tail="", stderr_tail="", stdout_log=str(out), stderr_log=str(err),
                        ready_s=None if failure else round(running.elapsed(), 3), failure=failure)
    return running, record


def _stop_service(running: Running, record: CommandRun) -> None:
    died = not running.alive()
    code = running.proc.returncode
    record.leftover_pids = running.stop()
    record.duration_s = running.elapsed()
    if died and record.failure is None:
        record.failure = f"exited with code {code} while the jobs ran"
        record.exit_code = code
    record.stdout_tail = tail(Path(record.stdout_log))
    record.stderr_tail = tail(Path(record.stderr_log))
    if record.failure:
        for stream, text in (("stdout", record.stdout_tail), ("stderr", record.stderr_tail)):
            last = text.strip().splitlines()[-3:]
            if last:
                record.failure += f"; its {stream} ends: " + " | ".join(line.strip() for line in last)


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
