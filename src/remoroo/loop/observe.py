"""What the loop keeps from a measurement for the brain: log tails (repository-relative) and failure witnesses."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from remoroo.audit import AuditContext, AuditVerdict, audit
from remoroo.audit.paths import why_protected
from remoroo.evidence.events import WitnessesWritten
from remoroo.loop.state import RunContext, Setup
from remoroo.measure.once import Measurement
from remoroo.measure.witness import collect, relative, write
from remoroo.model.plan import Plan
from remoroo.model.witness import Witness


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


def audit_change(ctx: RunContext, setup: Setup, old: str, new: str, files: list[str]) -> AuditVerdict:
    """Audit the change between two commits of the workspace, against the setup's plan and baseline."""
    ws = ctx.workspace
    return audit(AuditContext(
        plan=setup.plan, goal=setup.goal,
        before={f: ws.read_at(old, f) for f in files}, after={f: ws.read_at(new, f) for f in files},
        baseline=setup.baseline_metrics, allowed=tuple(ctx.config.allow_paths), harness_text=setup.harness_text,
    ))


def protection(plan: Plan) -> Callable[[str], str | None]:
    """The audit's path rule for ``plan``, for marking the files a brain is shown."""
    return lambda rel: why_protected(rel, plan)
