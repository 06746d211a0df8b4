"""Services: the ports their ``{port}`` placeholders become.

Every address is on 127.0.0.1. In the sandbox each measurement has a loopback
network of its own, so the ports are fixed (the same in every measurement);
unsandboxed, free ports are taken by binding there. The readiness probes run
inside the measurement, in ``exec/inside.py``.
"""

from __future__ import annotations

import re
import socket

from remoroo.model.plan import Command, Plan

FIRST_PORT = 18080
_PLACEHOLDER = re.compile(r"\{port(?::(\w+))?\}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def placeholders(plan: Plan) -> list[str]:
    """The distinct ``{port:NAME}`` names used anywhere in the plan (``""`` for a bare ``{port}``)."""
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
    return names


def allocate_ports(plan: Plan) -> dict[str, int]:
    """One free port on 127.0.0.1 per placeholder name (unsandboxed: the host's network is shared)."""
    return {name: free_port() for name in placeholders(plan)}


def fixed_ports(plan: Plan) -> dict[str, int]:
    """The ports of a sealed measurement: its network is its own, so every port is free."""
    return {name: FIRST_PORT + n for n, name in enumerate(placeholders(plan))}


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
