"""Services: free ports, readiness probes, and the order of start and teardown.

Every address is on 127.0.0.1: ports are taken by binding there, and probes
connect only there.
"""

from __future__ import annotations

import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from remoroo.exec.process import Running
from remoroo.model.plan import Command, Plan, Readiness

_PLACEHOLDER = re.compile(r"\{port(?::(\w+))?\}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def allocate_ports(plan: Plan) -> dict[str, int]:
    """One free port per distinct placeholder name used anywhere in the plan."""
    names: list[str] = []
    for cmd in plan.commands:
        texts = [cmd.run, *cmd.env.values()]
        if cmd.ready:
            texts += [cmd.ready.port or "", cmd.ready.url or ""]
        for text in texts:
            for match in _PLACEHOLDER.finditer(text):
                name = match.group(1) or ""
                if name not in names:
                    names.append(name)
    return {name: free_port() for name in names}


def fill(text: str, ports: dict[str, int]) -> str:
    return _PLACEHOLDER.sub(lambda m: str(ports.get(m.group(1) or "", m.group(0))), text)


def concrete(cmd: Command, ports: dict[str, int]) -> Command:
    """The command with its placeholders replaced."""
    ready = None
    if cmd.ready is not None:
        ready = cmd.ready.model_copy(update={"port": fill(cmd.ready.port, ports) if cmd.ready.port else None,
                                            "url": fill(cmd.ready.url, ports) if cmd.ready.url else None})
    return cmd.model_copy(update={"run": fill(cmd.run, ports),
                                  "env": {k: fill(v, ports) for k, v in cmd.env.items()}, "ready": ready})


def wait_ready(probe: Readiness, running: Running, logs: tuple[Path, Path], deadline: float) -> str | None:
    """None once the probe passes; otherwise why the service is not ready."""
    limit = min(deadline, time.perf_counter() + probe.timeout_s)
    while True:
        if not running.alive():
            return f"exited with code {running.proc.returncode} before it was ready"
        if _check(probe, logs):
            return None
        if time.perf_counter() >= limit:
            return f"not ready after {probe.timeout_s:g}s ({_describe(probe)})"
        time.sleep(0.05)


def _check(probe: Readiness, logs: tuple[Path, Path]) -> bool:
    if probe.kind == "tcp":
        try:
            with socket.create_connection(("127.0.0.1", int(probe.port or 0)), timeout=0.2):
                return True
        except (OSError, ValueError):
            return False
    if probe.kind == "http":
        try:
            with urllib.request.urlopen(probe.url or "", timeout=0.5) as response:  # noqa: S310 - loopback only
                return int(response.status) < 500
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except (OSError, ValueError):
            return False
    pattern = re.compile(probe.pattern or "$^")
    return any(pattern.search(p.read_text(encoding="utf-8", errors="replace")) for p in logs if p.is_file())


def _describe(probe: Readiness) -> str:
    if probe.kind == "tcp":
        return f"nothing listening on 127.0.0.1:{probe.port}"
    if probe.kind == "http":
        return f"no answer below 500 from {probe.url}"
    return f"no log line matched {probe.pattern!r}"
