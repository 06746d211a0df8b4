"""The report, built from the run's ledger (``events.ndjson``), never from memory.

``final_report.md`` holds exactly one line ``## Outcome: SUCCESS|PARTIAL_SUCCESS|FAIL``
(parsers match ``^##\\s*(?:.*?\\s)?Outcome:\\s*([A-Z_]+)\\s*$``).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, TypeVar, Union

from pydantic import BaseModel, Field

from remoroo.evidence.events import (
    Baseline,
    CandidateDone,
    Event,
    Final,
    InternalFailed,
    Judged,
    Resumed,
    RunFinished,
    RunStarted,
    SnapshotNotes,
    StoreUnavailable,
    TurnDone,
    Verification,
    WitnessesWritten,
)
from remoroo.evidence.ledger import RunFolder
from remoroo.model.outcomes import AuditRule, Decision, Outcome

OUTCOME_RE = re.compile(r"^##\s*(?:.*?\s)?Outcome:\s*([A-Z_]+)\s*$", re.M)
Value = Union[bool, int, float, str, None]


class MetricRow(BaseModel):
    metric: str
    targets: list[str]
    baseline: Value = None
    turns: dict[str, Value] = Field(default_factory=dict, description="Turn number -> value measured then.")
    final: Value = None
    met: bool | None = None
    baseline_spread: float | None = Field(default=None, description="MAD of the baseline's repeats.")
    final_spread: float | None = None
    final_interval: list[float] | None = Field(default=None, description=(
        "A noisy metric measured side by side with the baseline: [low, high] of its final value (the baseline "
        "times the ratio's confidence interval)."))
    final_n: int | None = None
    interval_method: str = ""
    repeats: int = 1
    provenance: str = Field(default="", description="Where the value comes from: a probe, a pattern, an emit site.")


class CandidateRow(BaseModel):
    turn: int
    candidate: int
    decision: Decision
    reason: str
    rationale: str = ""
    files: list[str] = Field(default_factory=list)
    metrics: dict[str, Value] = Field(default_factory=dict)


class TurnRow(BaseModel):
    turn: int
    candidates: int = 1
    decision: Decision
    reason: str
    files: list[str]
    duration_s: float
    metrics: dict[str, Value]


class AuditEntry(BaseModel):
    turn: int
    candidate: int = 1
    rule: AuditRule
    reason: str
    evidence: dict[str, Any]


class Report(BaseModel):
    schema_version: Literal[1] = 1
    run_id: str
    outcome: Outcome
    reason: str
    goal: str
    spec: str
    brain: str
    sandbox: str = Field(default="bubblewrap", description="bubblewrap, or unsandboxed (--sandbox off).")
    metrics: list[MetricRow]
    turns: list[TurnRow]
    audit: list[AuditEntry]
    overrides: list[AuditEntry] = Field(default_factory=list, description=(
        "Findings the user lifted with --allow RULE:PATH, with what they would have vetoed."))
    flags: list[str]
    verification: dict[str, Any] | None
    duration_s: float
    baseline_duration_s: float | None
    brain_calls: int
    witnesses: list[str] = Field(default_factory=list, description=(
        "One line per failure witness of the final state (the kept turn's, or the baseline's), with its file."))
    candidates: list[CandidateRow] = Field(default_factory=list, description="Every candidate, with its rationale.")
    diff: str = Field(default="", description="What the run delivers: instrumentation.diff, then final_patch.diff.")
    judge: str = Field(default="", description="The brain's advisory reasoning; it never changes the outcome.")
    notes: list[str] = Field(default_factory=list, description=(
        "What the run met on the way that changed no outcome: files the snapshot left out, an internal error, "
        "a judge that could not answer, an artifact store that went away, a resume."))
    usage: dict[str, Any] = Field(default_factory=dict, description="Tokens and cost of the brain's model calls.")
    evidence: dict[str, str]


def build_report(folder: RunFolder) -> Report:
    events = folder.events()
    first = _last(events, RunStarted)
    last = _last(events, RunFinished) or RunFinished(outcome="FAIL", reason="the run did not finish", turns=0,
                                                     brain_calls=0)
    base = _last(events, Baseline)
    final = _last(events, Final)
    verified = _last(events, Verification)
    judged = _last(events, Judged)
    turns = [e for e in events if isinstance(e, TurnDone)]
    candidates = [e for e in events if isinstance(e, CandidateDone)]
    statuses = {s.text: s for s in final.targets} if final else {}
    names = final.metric_names if final else (first.metrics if first else [])
    targets_by_metric: dict[str, list[str]] = {}
    for text, status in statuses.items():
        targets_by_metric.setdefault(status.metric, []).append(text)
    rows = []
    for name in names:
        texts = targets_by_metric.get(name, [])
        met = [statuses[t].met for t in texts]
        interval = next((statuses[t].interval for t in texts if statuses[t].interval is not None), None)
        base_value = base.metrics.get(name) if base else None
        bounds = ([round(float(base_value) * interval.lo, 6), round(float(base_value) * interval.hi, 6)]
                  if interval is not None and isinstance(base_value, (int, float)) else None)
        rows.append(MetricRow(
            final_interval=bounds, final_n=interval.n_new if bounds and interval else None,
            interval_method=(f"{interval.level * 100:.4g}% {interval.method}, against the baseline measured "
                             "side by side" if bounds and interval else ""),
            baseline_spread=base.spread.get(name) if base else None,
            final_spread=verified.spread.get(name) if verified else None, repeats=base.repeats if base else 1,
            metric=name, targets=texts, baseline=base.metrics.get(name) if base else None,
            turns={str(t.turn): t.metrics.get(name) for t in turns if t.metrics},
            final=final.metrics.get(name) if final else None, met=all(met) if met else None,
            provenance=base.provenance.get(name, "") if base else "",
        ))
    return Report(
        run_id=first.run_id if first else folder.run_id, outcome=last.outcome, reason=last.reason,
        goal=first.goal if first else "", spec=first.spec if first else "", brain=first.brain if first else "",
        sandbox=first.sandbox if first else "bubblewrap", metrics=rows,
        turns=[TurnRow(turn=t.turn, candidates=t.candidates, decision=t.decision, reason=t.reason, files=t.files,
                       duration_s=t.duration_s, metrics=t.metrics) for t in turns],
        audit=[AuditEntry(turn=c.turn, candidate=c.candidate, rule=f.rule, reason=f.reason, evidence=f.evidence)
               for c in candidates if c.audit for f in c.audit.findings if not f.passed],
        overrides=[AuditEntry(turn=c.turn, candidate=c.candidate, rule=f.rule, reason=f.reason, evidence=f.evidence)
                   for c in candidates if c.audit for f in c.audit.findings if "overridden" in f.evidence],
        flags=(base.flags if base else []) + [f"turn {c.turn}, candidate {c.candidate}: {f}"
                                              for c in candidates for f in c.flags],
        verification=verified.model_dump(mode="json") if verified else None,
        duration_s=round(last.ts - first.ts, 3) if first else 0.0,
        baseline_duration_s=base.duration_s if base else None,
        brain_calls=last.brain_calls,
        usage=last.usage,
        judge=judged.reasoning if judged else "",
        notes=_notes(events),
        witnesses=[f"turn {e.turn}: {s} ({p})" for e in events if isinstance(e, WitnessesWritten)
                   and e.turn == (final.kept_turn if final else 0) for s, p in zip(e.summary, e.paths, strict=False)],
        candidates=[CandidateRow(turn=c.turn, candidate=c.candidate, decision=c.decision, reason=c.reason,
                                 rationale=c.rationale, files=c.files, metrics=dict(c.metrics)) for c in candidates],
        diff="".join((folder.root / name).read_text(encoding="utf-8", errors="replace")
                     for name in ("instrumentation.diff", "final_patch.diff") if (folder.root / name).is_file()),
        evidence=evidence_files(folder),
    )


_E = TypeVar("_E", RunStarted, RunFinished, Baseline, Final, Verification, Judged)


def _last(events: list[Event], kind: type[_E]) -> _E | None:
    found = [e for e in events if isinstance(e, kind)]
    return found[-1] if found else None


def evidence_files(folder: RunFolder) -> dict[str, str]:
    names = ["report.html", "run.json", "events.ndjson", "plan.json", "final_patch.diff", "instrumentation.diff",
             "turns/", "audit/", "brain/", "verify-logs/", "system_diagram.md", "repo_index.json"]
    return {n: n for n in names if (folder.root / n.rstrip("/")).exists()}


def _notes(events: list[Event]) -> list[str]:
    notes: list[str] = []
    for e in events:
        if isinstance(e, SnapshotNotes):
            shown = ", ".join(f"{path} ({why})" for path, why in list(e.skipped.items())[:10])
            more = f" and {len(e.skipped) - 10} more" if len(e.skipped) > 10 else ""
            notes.append(f"the snapshot left out {len(e.skipped)} path(s): {shown}{more}")
        elif isinstance(e, InternalFailed):
            notes.append(f"internal error (a bug in remoroo): {e.error}; traceback in {e.traceback_file}")
        elif isinstance(e, Judged) and e.error:
            notes.append(f"the judge gave no judgement: {e.error}")
        elif isinstance(e, StoreUnavailable):
            notes.append(f"the artifact store {e.store} could not be written ({e.error}); the local run folder "
                         "holds everything")
        elif isinstance(e, Resumed):
            notes.append(f"resumed after an interruption: {e.replayed_events} event(s), {e.replayed_brain_calls} "
                         f"brain answer(s) and {e.replayed_measurements} measurement(s) taken from the record")
    return notes


def fmt(value: Value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return " ".join(str(value).split()).replace("|", "\\|")  # one line: no text can add a heading


def render_markdown(report: Report) -> str:
    turn_ids = [str(t.turn) for t in report.turns]
    lines = [f"# remoroo run {report.run_id}", ""]
    if report.sandbox == "unsandboxed":
        lines += ["**unsandboxed**: measured commands ran with --sandbox off: they could see this machine's files, "
                  "HOME, network and environment, and processes they started could outlive the run.", ""]
    lines += [f"## Outcome: {report.outcome}", "",
             f"**Reason:** {report.reason}", "", f"**Goal:** {report.goal}", "",
             f"**Metric spec:** `{report.spec}`", "", f"**Brain:** {report.brain} ({report.brain_calls} calls"
             f"{_usage_text(report.usage)}); **duration:** {report.duration_s:.1f}s", "", "### Metrics", ""]
    header = ["metric", "target", "baseline", *[f"turn {t}" for t in turn_ids], "final", "met"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in report.metrics:
        cells = [row.metric, "; ".join(f"`{t}`" for t in row.targets) or "—",
                 _spread(row.baseline, row.baseline_spread, row.repeats),
                 *[fmt(row.turns.get(t)) for t in turn_ids], _final(row),
                 "—" if row.met is None else ("yes" if row.met else "no")]
        lines.append("| " + " | ".join(cells) + " |")
    methods = sorted({f"- **{row.metric}**: {row.interval_method}" for row in report.metrics if row.interval_method})
    if methods:
        lines += ["", "Intervals:", "", *methods]
    sources = [f"- **{row.metric}**: {row.provenance}" for row in report.metrics if row.provenance]
    if sources:
        lines += ["", "Where each metric comes from:", "", *sources]
    lines += ["", "### Turns", ""]
    if report.turns:
        lines += ["| turn | candidates | decision | reason | files | duration |", "|---|---|---|---|---|---|"]
        for t in report.turns:
            files = ", ".join(t.files) or "—"
            lines.append(f"| {t.turn} | {t.candidates} | {t.decision} | {fmt(t.reason)} | {fmt(files)} "
                         f"| {t.duration_s:.2f}s |")
    else:
        lines.append("No turn ran.")
    lines += ["", "### Audit", ""]
    lines += [f"- turn {a.turn}, candidate {a.candidate}: **{a.rule}**: {a.reason}; "
              f"evidence: `{json.dumps(a.evidence, sort_keys=True)}`" for a in report.audit] or ["No veto."]
    lines += [f"- turn {a.turn}, candidate {a.candidate}: **override** of **{a.rule}** by the user: {a.reason}; "
              f"lifted: `{json.dumps(a.evidence.get('overridden'), sort_keys=True)}`" for a in report.overrides]
    lines += [f"- flag: {f}" for f in report.flags]
    if report.verification:
        v = report.verification
        lines += ["", "### Final verification", "",
                  f"Fresh copy of the snapshot with final_patch.diff applied: {v.get('reason') or v.get('message')}"]
    if report.candidates:
        lines += ["", "### Candidates", ""]
        lines += [f"- turn {c.turn}, candidate {c.candidate}: **{c.decision}** ({fmt(c.reason)})"
                  + (f"; rationale: {fmt(c.rationale[:300])}" if c.rationale else "") for c in report.candidates[-40:]]
    if report.diff.strip():
        shown = report.diff.splitlines()
        lines += ["", "### The change (`remoroo apply` delivers it)", "", "```diff", *shown[:300], "```"]
        if len(shown) > 300:
            lines.append(f"({len(shown) - 300} more lines in final_patch.diff)")
    if report.witnesses:
        lines += ["", "### Failure witnesses of the final state", ""] + [f"- {fmt(w)}" for w in report.witnesses[-20:]]
    if report.notes:
        lines += ["", "### Notes", ""] + [f"- {fmt(n)}" for n in report.notes]
    if report.judge:
        quoted = ["> " + line for line in report.judge.splitlines()]  # quoted: it can never add an outcome line
        lines += ["", "### Judge (advisory; the outcome above is the engine's)", "", *quoted]
    lines += ["", "### Evidence", ""] + [f"- `{p}`" for p in report.evidence.values()]
    return "\n".join(lines) + "\n"


def _final(row: MetricRow) -> str:
    """``0.41 [0.39, 0.44], n=12`` for a noisy metric measured side by side; else the value with its spread."""
    if row.final_interval is not None and row.final_n is not None:
        lo, hi = row.final_interval
        return f"{fmt(row.final)} [{lo:.3g}, {hi:.3g}], n={row.final_n}"
    return _spread(row.final, row.final_spread, row.repeats)


def _spread(value: Value, spread: float | None, repeats: int) -> str:
    """A median with its spread and n, when it was measured more than once."""
    if spread is None or repeats <= 1 or value is None:
        return fmt(value)
    return f"{fmt(value)} ± {spread:.3g} (n={repeats})"


def _usage_text(usage: dict[str, Any]) -> str:
    if not usage or not usage.get("model_calls"):
        return ""
    tokens = usage.get("input_tokens", 0) + usage.get("output_tokens", 0)
    return f", {usage['model_calls']} model calls, {tokens} tokens, ${usage.get('cost_usd', 0):.4f}"


def parse_outcome(markdown: str) -> str | None:
    found = OUTCOME_RE.findall(markdown)
    return found[0] if len(found) == 1 else None
