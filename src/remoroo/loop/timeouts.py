"""Command timeouts that follow the program: generous for the baseline, then a multiple of what it took.

Unless the user set ``command_timeout_s`` (the CLI, remoroo.toml or the
environment: then it bounds every command, the baseline included), the
baseline's commands may take half of the run's time left, never less than
the configured default: a case that allows 300 s is not killed at 60 s.
Once the baseline has run, each job that finished gets ``3 x its duration +
10 s`` (never more than it had), so a candidate that hangs costs a bounded
amount of the run.
"""

from __future__ import annotations

from remoroo.measure.once import Measurement
from remoroo.model.budgets import Budgets
from remoroo.model.config import RunConfig
from remoroo.model.plan import Plan

FACTOR = 3.0
SLACK_S = 10.0


def explicit(config: RunConfig) -> bool:
    return config.sources.get("command_timeout_s", "default") != "default"


def baseline_ceiling(config: RunConfig, budgets: Budgets) -> float:
    """The timeout each planned command gets for the baseline."""
    if explicit(config):
        return config.command_timeout_s
    return round(max(config.command_timeout_s, 0.5 * budgets.remaining_s()), 1)


def fitted(plan: Plan, baseline: Measurement) -> tuple[Plan, dict[str, float]]:
    """The plan with each job that finished at baseline bounded by a multiple of its own time, and the changes."""
    took = {c.name: c.duration_s for c in baseline.commands
            if c.role == "job" and not c.timed_out and c.skipped is None}
    changed: dict[str, float] = {}
    commands = []
    for command in plan.commands:
        if command.name in took:
            limit = round(min(command.timeout_s, FACTOR * took[command.name] + SLACK_S), 1)
            if limit < command.timeout_s:
                changed[command.name] = limit
                command = command.model_copy(update={"timeout_s": limit})
        commands.append(command)
    return (plan.model_copy(update={"commands": commands}) if changed else plan), changed


def hung_baseline(config: RunConfig, plan: Plan, baseline: Measurement) -> str | None:
    """Why the run cannot go on: a baseline command did not finish within a generous timeout (at least the
    configured default) that nobody chose to be short. A plan or a user that bounds a command tightly expects
    the hang, and the run goes on to repair it."""
    if explicit(config) or not baseline.timed_out:
        return None
    limits = {c.name: c.timeout_s for c in plan.commands}
    hung = [c for c in baseline.commands if c.timed_out and limits.get(c.name, 0.0) >= config.command_timeout_s]
    if not hung:
        return None
    names = ", ".join(f"'{c.name}' after {c.duration_s:.0f}s" for c in hung)
    return (f"the baseline did not finish: {names}; see the witness for where it was "
            "when killed. If a hang is the bug, bound each command with --command-timeout; otherwise give the "
            "run more time with --timeout")
