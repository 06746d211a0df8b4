"""Run stage: execute a plan's commands (services and jobs) in a tree, sealed, leaving nothing running.

The whole measurement runs inside one sandbox (``exec/sandbox.py``) under the
engine's runner (``exec/inside.py``): commands start in plan order, a service
must pass its readiness probe (inside the sandbox's own loopback network)
before the next command starts, a job's wall time lasts until the last
process it started has exited, and services are torn down, whole process
trees, in reverse order. When the runner or the engine dies, the sandbox and
everything in it dies too.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from remoroo.errors import CommandError
from remoroo.exec import sandbox as sb
from remoroo.exec.process import TAG_ENV, _reap, kill_tree
from remoroo.measure.logs import tail, trim
from remoroo.measure.services import allocate_ports, concrete, fixed_ports
from remoroo.model.plan import Command, Plan

_NETWORK_ERROR = re.compile(
    r"Network is unreachable|Temporary failure in name resolution|Name or service not known|"
    r"nodename nor servname|Could not resolve host|getaddrinfo|ENETUNREACH|EAI_AGAIN|No address associated",
    re.I)


INPUTS_FILE_ENV = "METRICS_INPUTS_FILE"  # where the helper's audit hook records the files a command opens
TREE_ENV = "METRICS_TREE"
SITES_FILE_ENV = "METRICS_SITES_FILE"  # which code printed each stdout line a metric pattern reads
PATTERNS_ENV = "METRICS_PATTERNS"


class Environment(BaseModel):
    """What every measured command gets besides the plan's own env."""

    base_env: dict[str, str] = Field(description="The user's environment; only PATH, locale, TZ and toolchains pass.")
    shim_dir: str
    grace_s: float = 1.0
    sandbox: sb.Sandbox = Field(default_factory=sb.Sandbox)
    venvs: dict[str, str] = Field(default_factory=dict, description="The repository's virtualenvs, shown read-only.")
    readonly: list[str] = Field(default_factory=list, description="Files of the tree mounted read-only.")
    allowed: list[str] = Field(default_factory=list, description="Protected paths the user lets change.")
    inputs: list[str] = Field(default_factory=list, description="Files the baseline read: read-only from then on.")
    cpus: list[int] = Field(default_factory=list, description="The CPUs the measurement is pinned to (empty: any).")


class CommandRun(BaseModel):
    name: str
    run: str
    role: str = "job"
    exit_code: int | None
    timed_out: bool
    duration_s: float
    cpu_s: float = Field(default=0.0, description="User + system CPU time of every process of the tree.")
    stdout_tail: str
    stderr_tail: str
    stdout_log: str
    stderr_log: str
    skipped: str | None = Field(default=None, description="Why the command did not run.")
    failure: str | None = Field(default=None, description="Why it failed beyond its exit code (service, limit).")
    ready_s: float | None = Field(default=None, description="Seconds until a service passed its probe.")
    leftover_pids: list[int] = Field(default_factory=list)
    leftover: int = Field(default=0, description="Processes still running when it was stopped.")
    peak_memory_mb: float = Field(default=0.0, description="Peak resident memory of the whole process tree.")
    notes: list[str] = Field(default_factory=list, description="What the engine noticed: cut logs, no network.")

    @property
    def ok(self) -> bool:
        if self.role == "service":
            return self.failure is None and self.skipped is None
        return self.exit_code == 0 and not self.timed_out and self.skipped is None and self.failure is None


def execute(plan: Plan, tree: Path, logs: Path, env: Environment, deadline: float) -> list[CommandRun]:
    """Run every command; ``deadline`` is on the ``time.monotonic`` clock."""
    logs.mkdir(parents=True, exist_ok=True)
    sealed = env.sandbox.sealed
    metrics = logs / "metrics"
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir()
    ports = fixed_ports(plan) if sealed else allocate_ports(plan)
    cmds = [concrete(c, ports) for c in plan.commands]
    with tempfile.TemporaryDirectory(prefix="remoroo-m-") as scratch, contextlib.ExitStack() as files:
        home, tmp = (sb.HOME, "/tmp") if sealed else _scratch(Path(scratch))
        base = sb.clean_env(env.base_env, home, tmp)
        fds: list[int] = []
        spec_cmds = []
        for cmd in cmds:
            out, err = (files.enter_context(open(p, "w+b")) for p in _paths(cmd, logs))  # read: log probes
            fds += [out.fileno(), err.fileno()]
            patterns = [i.pattern for i in plan.instrumentation
                        if i.source == "stdout" and i.pattern and i.command in (None, cmd.name)]
            spec_cmds.append(_spec(cmd, tree, metrics, env, base, out.fileno(), err.fileno(), patterns))
        result = files.enter_context(tempfile.TemporaryFile())
        fds.append(result.fileno())
        spec = {"commands": spec_cmds, "grace_s": env.grace_s, "deadline": deadline,
                "result_fd": result.fileno(), "limits": _limits(env.sandbox.limits), "cpus": list(env.cpus)}
        argv = (sb.argv(tree=tree, shim=Path(env.shim_dir), metrics=metrics, sandbox=env.sandbox,
                        user_env=env.base_env, readonly=env.readonly,
                        venvs={k: Path(v) for k, v in env.venvs.items()})
                if sealed else [str(sb.interpreter()), "-I", "-S", str(sb.runner_source())])
        _launch(argv, marshal.dumps(spec), fds, tree, deadline, env.grace_s, sealed)
        result.seek(0)
        raw = result.read()
    records = marshal.loads(raw)["commands"] if raw else None
    if records is None:
        raise CommandError("the measurement's runner ended without a result (killed from outside)")
    return [_command_run(cmd, rec, logs, env) for cmd, rec in zip(cmds, records, strict=True)]


def _scratch(root: Path) -> tuple[str, str]:
    home, tmp = root / "home", root / "tmp"
    home.mkdir()
    tmp.mkdir()
    return str(home), str(tmp)


def _limits(limits: sb.Limits) -> dict[str, int]:
    return {"memory_bytes": limits.memory_mb << 20, "processes": limits.processes,
            "file_bytes": limits.file_mb << 20}


def _spec(cmd: Command, tree: Path, metrics: Path, env: Environment, base: dict[str, str], out: int,
          err: int, patterns: list[str]) -> dict[str, object]:
    sealed = env.sandbox.sealed
    root = sb.TREE if sealed else str(tree)
    child = dict(base)
    child.update(cmd.env)
    child = {k: v for k, v in child.items() if "\0" not in k + v}
    child[sb.EMIT_FILE_ENV] = f"{sb.METRICS if sealed else metrics}/{cmd.name}.ndjson"
    child[INPUTS_FILE_ENV] = f"{sb.METRICS if sealed else metrics}/{cmd.name}.inputs"
    child[SITES_FILE_ENV] = f"{sb.METRICS if sealed else metrics}/{cmd.name}.sites"
    child[PATTERNS_ENV] = json.dumps(patterns)
    child[TREE_ENV] = root
    helpers = sb.HELPERS if sealed else env.shim_dir
    child["PYTHONPATH"] = ":".join(p for p in (helpers, child.get("PYTHONPATH", "")) if p)
    ready = cmd.ready.model_dump(mode="json") if cmd.ready else None
    return {"name": cmd.name, "run": cmd.run, "role": cmd.role, "cwd": os.path.normpath(f"{root}/{cmd.cwd}"),
            "env": child, "timeout_s": cmd.timeout_s, "ready": ready, "depends_on": list(cmd.depends_on),
            "out": out, "err": err}


def _launch(argv: list[str], spec: bytes, fds: list[int], tree: Path, deadline: float, grace_s: float,
            sealed: bool) -> None:
    """Run the runner and wait for it; on the engine's interrupt or a runaway, kill it and all it holds."""
    tag = os.urandom(8).hex()
    env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}
    if not sealed:
        env[TAG_ENV] = tag  # unsandboxed, the tag finds what escaped the process group
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                pass_fds=fds, cwd=tree, env=env, start_new_session=True)
    except OSError as exc:
        raise CommandError(f"could not start the measurement runner ({argv[0]}): {exc}") from exc
    try:
        limit = max(0.0, deadline - time.monotonic()) + 4 * grace_s + 15.0
        try:
            _, stderr = proc.communicate(input=spec, timeout=limit)
        except subprocess.TimeoutExpired:
            raise CommandError("the measurement's runner did not finish in time and was killed") from None
        if proc.returncode != 0:
            detail = stderr.decode("utf-8", "replace").strip().splitlines()
            raise CommandError(f"the measurement's runner failed (exit {proc.returncode}): "
                               f"{detail[-1] if detail else 'no message'}")
    finally:
        if proc.returncode is None:
            if sealed:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()  # bwrap dies, and --die-with-parent takes the whole sandbox with it
                _reap(proc)
            else:
                kill_tree(proc, tag, {}, grace_s=grace_s)


def _paths(cmd: Command, logs: Path) -> tuple[Path, Path]:
    return logs / f"{cmd.name}.stdout.log", logs / f"{cmd.name}.stderr.log"


def _command_run(cmd: Command, rec: dict[str, Any], logs: Path, env: Environment) -> CommandRun:
    out, err = _paths(cmd, logs)
    notes = [note for path in (out, err) if (note := trim(path, int(env.sandbox.limits.log_mb * 2**20)))]
    record = CommandRun(
        name=cmd.name, run=cmd.run, role=cmd.role, exit_code=rec["exit_code"], timed_out=bool(rec["timed_out"]),
        duration_s=float(rec["duration_s"]), cpu_s=round(float(rec["cpu_s"]), 6),
        stdout_tail=tail(out), stderr_tail=tail(err), stdout_log=str(out), stderr_log=str(err),
        skipped=rec["skipped"], failure=rec["failure"], ready_s=rec["ready_s"],
        leftover=int(rec["leftover"]), peak_memory_mb=int(rec["peak_rss"]) / 2**20,
        notes=notes)
    if record.failure and cmd.role == "service":
        for stream, text in (("stdout", record.stdout_tail), ("stderr", record.stderr_tail)):
            last = text.strip().splitlines()[-3:]
            if last:
                record.failure += f"; its {stream} ends: " + " | ".join(line.strip() for line in last)
    if not record.ok and env.sandbox.sealed and _NETWORK_ERROR.search(record.stderr_tail + record.stdout_tail):
        record.notes.append("it needed the network: measured commands run with loopback (127.0.0.1) only, "
                            "no outside network; make the program work offline")
    return record
