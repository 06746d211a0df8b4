"""What a run shows while it runs, fed by its ledger events as they are written.

- a terminal: a live panel (rich): turn k/N, candidate k/M with its rationale, a spinner with the elapsed
  time while the model or the commands work, the best metrics so far against their targets, and the time
  and token budgets left;
- not a terminal: one plain line per step, on stderr;
- ``--json``: every event as one line of NDJSON on stdout, as it happens (the report follows, last).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from remoroo.evidence.events import (
    Baseline,
    BrainAsked,
    CandidateDone,
    CandidateMeasured,
    CandidateStarted,
    Event,
    Final,
    PlanAccepted,
    PlanRejectedEvent,
    Replanned,
    RunFinished,
    RunStarted,
    TurnDone,
    Verification,
)


def metrics_text(metrics: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in metrics.items()) or "(no metrics)"


class Plain:
    """One line per step, for logs and pipes."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, event: Event) -> None:
        line = _line(event)
        if line:
            self.console.print(line, soft_wrap=True)

    def close(self) -> None:
        return


class Stream:
    """``--json``: each event as NDJSON on stdout, flushed at once, for other tools to follow."""

    def __call__(self, event: Event) -> None:
        sys.stdout.write(event.model_dump_json() + "\n")
        sys.stdout.flush()

    def close(self) -> None:
        return


class LivePanel:
    """The live panel on a terminal."""

    def __init__(self, console: Console, max_turns: int, timeout_s: float, max_tokens: int | None) -> None:
        self.console, self.max_turns, self.timeout_s, self.max_tokens = console, max_turns, timeout_s, max_tokens
        self.started = time.monotonic()
        self.turn = 0
        self.doing = "starting"
        self.candidate = ""
        self.targets: list[str] = []
        self.baseline: dict[str, Any] = {}
        self.best: dict[str, Any] = {}
        self.tokens = 0
        self.spinner = Spinner("dots")
        self.live = Live(self._render(), console=console, refresh_per_second=8, transient=True)
        self.live.__enter__()

    def __call__(self, event: Event) -> None:
        line = _line(event)
        if line and not isinstance(event, (BrainAsked, CandidateStarted)):
            self.live.console.print(line, soft_wrap=True)  # the history scrolls above the panel
        if isinstance(event, RunStarted):
            self.targets = list(event.targets)
        elif isinstance(event, BrainAsked):
            self.doing = f"waiting for the model ({event.what})"
            self.tokens = event.tokens_used
        elif isinstance(event, PlanAccepted):
            self.doing = "measuring the baseline"
        elif isinstance(event, Baseline):
            self.baseline, self.best = dict(event.metrics), dict(event.metrics)
            self.doing = "asking for candidates"
        elif isinstance(event, CandidateStarted):
            self.turn = event.turn
            self.candidate = f"candidate {event.candidate}/{event.of}: {event.rationale[:90]}"
            self.doing = "patching, auditing, running and measuring"
        elif isinstance(event, (CandidateMeasured, CandidateDone)):
            self.candidate = f"candidate {event.candidate}: {event.decision} ({event.reason[:90]})"
        elif isinstance(event, TurnDone) and event.decision == "KEPT":
            self.best.update(event.metrics)
        elif isinstance(event, Final):
            self.doing = "final verification on a fresh copy"
        elif isinstance(event, Verification):
            self.doing = "writing the report"
        elif isinstance(event, RunFinished):
            self.tokens = int(event.usage.get("input_tokens", 0)) + int(event.usage.get("output_tokens", 0))
        self.live.update(self._render())

    def _render(self) -> Group:
        elapsed = time.monotonic() - self.started
        head = Table.grid(padding=(0, 1))
        head.add_row(self.spinner, Text(f"turn {self.turn}/{self.max_turns}", style="bold"),
                     Text(f"{self.doing} · {elapsed:.0f}s elapsed, {max(0.0, self.timeout_s - elapsed):.0f}s left"
                          + (f" · tokens {self.tokens}/{self.max_tokens}" if self.max_tokens else
                             (f" · tokens {self.tokens}" if self.tokens else ""))))
        rows: list[Any] = [head]
        if self.candidate:
            rows.append(Text(f"  {self.candidate}"))
        if self.best:
            table = Table("metric", "baseline", "best so far", box=None, padding=(0, 2))
            for name, value in self.best.items():
                table.add_row(name, str(self.baseline.get(name, "—")), str(value))
            rows.append(table)
        if self.targets:
            rows.append(Text("  targets: " + "; ".join(self.targets), style="dim"))
        return Group(*rows)

    def close(self) -> None:
        self.live.__exit__(None, None, None)


def _line(event: Event) -> str:
    if isinstance(event, PlanAccepted):
        return f"plan accepted: {', '.join(event.commands)}"
    if isinstance(event, PlanRejectedEvent):
        return f"plan rejected: {'; '.join(event.defects)}"
    if isinstance(event, Baseline):
        return f"baseline: {metrics_text(event.metrics)}"
    if isinstance(event, CandidateStarted) and event.of > 1:
        return f"turn {event.turn}, candidate {event.candidate}/{event.of}: {event.rationale[:100]}"
    if isinstance(event, TurnDone):
        return f"turn {event.turn}: {event.decision} ({event.reason}) {metrics_text(event.metrics)}"
    if isinstance(event, Replanned):
        return f"replanning: {event.reason}"
    return ""


def observer_for(console: Console, as_json: bool, max_turns: int, timeout_s: float,
                 max_tokens: int | None) -> Plain | Stream | LivePanel:
    if as_json:
        return Stream()
    if console.is_terminal:
        return LivePanel(console, max_turns, timeout_s, max_tokens)
    return Plain(console)


def report_line(report_json: str) -> str:
    """The last NDJSON line of ``--json``: the final report."""
    return json.dumps({"event": "final_report", "report": json.loads(report_json)}) + "\n"
