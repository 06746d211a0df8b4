"""The run's ledger events: one pydantic model per event, so nothing reads a field that is not there.

``RunFolder.append`` takes only these; the report, ``show``, the CLI's progress
and the bench read them back with :func:`parse_event`. The ``event`` field is
the discriminator, and the name written to ``events.ndjson``.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from remoroo.audit.findings import AuditVerdict
from remoroo.model.decide import TargetStatus
from remoroo.model.outcomes import AuditRule, Decision, Outcome
from remoroo.model.plan import Unmeasurable

Metrics = dict[str, Union[bool, int, float, str, None]]


class CommandSummary(BaseModel):
    name: str
    role: str
    exit_code: int | None = None
    timed_out: bool = False
    duration_s: float = 0.0
    failure: str | None = None


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ts: float = Field(default_factory=lambda: round(time.time(), 3))


class RunStarted(_Event):
    event: Literal["run_started"] = "run_started"
    run_id: str
    goal: str
    spec: str
    brain: str
    targets: list[str]
    semantic: list[str]
    metrics: list[str]
    sandbox: str = Field(default="bubblewrap", description="How measured commands were contained: bubblewrap or "
                         "unsandboxed.")


class ClusterJoined(_Event):
    event: Literal["cluster"] = "cluster"
    address: str
    workers: int


class PlanAccepted(_Event):
    event: Literal["plan_accepted"] = "plan_accepted"
    replan: int
    attempt: int
    file: str
    commands: list[str]
    reason: str | None = None


class PlanRejectedEvent(_Event):
    event: Literal["plan_rejected"] = "plan_rejected"
    replan: int
    attempt: int
    defects: list[str]


class PlanGivenUp(_Event):
    event: Literal["plan_given_up"] = "plan_given_up"
    replan: int
    reason: str | None


class PlanUnmeasurable(_Event):
    event: Literal["plan_unmeasurable"] = "plan_unmeasurable"
    replan: int
    clauses: list[Unmeasurable]


class Hydrated(_Event):
    event: Literal["hydration"] = "hydration"
    what: str
    round: int
    paths: list[str]
    problems: list[str]


class HydrationExhausted(_Event):
    event: Literal["hydration_exhausted"] = "hydration_exhausted"
    what: str
    paths: list[str]


class Baseline(_Event):
    event: Literal["baseline"] = "baseline"
    metrics: Metrics
    missing: dict[str, str]
    flags: list[str]
    spread: dict[str, float]
    repeats: int
    duration_s: float
    commands: list[CommandSummary]
    provenance: dict[str, str] = Field(default_factory=dict, description="Metric -> where its value comes from.")
    inputs: list[str] = Field(default_factory=list, description="Files the commands read: protected from then on.")


class Scouting(_Event):
    """Candidate commands run once before planning, at the brain's request, to see what they report."""

    event: Literal["scouting"] = "scouting"
    commands: list[str]
    values: dict[str, int] = Field(default_factory=dict, description="Command -> labelled numbers it showed.")
    notes: dict[str, str] = Field(default_factory=dict)


class TimeoutsFitted(_Event):
    """After the baseline: each job's timeout from then on, a multiple of what it took at baseline."""

    event: Literal["timeouts_fitted"] = "timeouts_fitted"
    timeouts: dict[str, float]


class PreflightFailed(_Event):
    event: Literal["preflight_failed"] = "preflight_failed"
    missing: dict[str, str]


class InstrumentationRejected(_Event):
    event: Literal["instrumentation_rejected"] = "instrumentation_rejected"
    message: str


class InstrumentationVetoed(_Event):
    event: Literal["instrumentation_vetoed"] = "instrumentation_vetoed"
    rules: list[AuditRule] = Field(default_factory=list)
    reasons: list[str]


class Instrumented(_Event):
    event: Literal["instrumented"] = "instrumented"
    files: list[str]
    rationale: str


class DiagramWritten(_Event):
    event: Literal["diagram"] = "diagram"
    file: str
    sha256: str
    reparsed: int
    regenerated: bool


class WitnessesWritten(_Event):
    event: Literal["witnesses"] = "witnesses"
    turn: int
    paths: list[str]
    summary: list[str]


class MeasuredAway(_Event):
    event: Literal["measured_away"] = "measured_away"
    logs: str
    worker: str
    seconds: float


class Replanned(_Event):
    event: Literal["replan"] = "replan"
    replan: int
    reason: str


class PatchesRejected(_Event):
    event: Literal["patch_rejected"] = "patch_rejected"
    turn: int
    messages: list[str]


class CandidateDone(_Event):
    event: Literal["candidate"] = "candidate"
    turn: int
    candidate: int
    files: list[str]
    decision: Decision
    reason: str
    rules: list[AuditRule] = Field(default_factory=list, description="The audit rules behind a VETOED decision.")
    metrics: Metrics
    audit: AuditVerdict | None = None
    rationale: str
    patch_hash: str | None = None
    missing: dict[str, str] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)
    spread: dict[str, float] = Field(default_factory=dict)
    commands: list[CommandSummary] = Field(default_factory=list)


class TurnDone(_Event):
    event: Literal["turn"] = "turn"
    turn: int
    replan: int
    candidates: int
    chosen: int
    files: list[str]
    metrics: Metrics
    decision: Decision
    reason: str
    spread: dict[str, float] = Field(default_factory=dict)
    duration_s: float


class Final(_Event):
    event: Literal["final"] = "final"
    metrics: Metrics
    kept_turn: int
    changed: bool
    stop: str
    targets: list[TargetStatus]
    metric_names: list[str]


class Verification(_Event):
    event: Literal["verification"] = "verification"
    applied: bool
    message: str | None = None
    metrics: Metrics = Field(default_factory=dict)
    missing: dict[str, str] = Field(default_factory=dict)
    spread: dict[str, float] = Field(default_factory=dict)
    repeats: int = 1
    outcome: Outcome | None = None
    reason: str | None = None


class Judged(_Event):
    event: Literal["judge"] = "judge"
    reasoning: str
    error: str | None = None


class BudgetExceededEvent(_Event):
    event: Literal["budget_exceeded"] = "budget_exceeded"
    error: str


class EngineFailed(_Event):
    event: Literal["engine_error"] = "engine_error"
    error: str
    kind: str


class Cancelled(_Event):
    event: Literal["cancelled"] = "cancelled"


class BrainAsked(_Event):
    """A brain call is about to be made (the progress display says the model is working)."""

    event: Literal["brain_asked"] = "brain_asked"
    what: str
    tokens_used: int = 0


class CandidateMeasured(_Event):
    """One candidate's own decision, as soon as it is known (the batch's choice among them comes after)."""

    event: Literal["candidate_measured"] = "candidate_measured"
    turn: int
    candidate: int
    decision: Decision
    reason: str
    metrics: Metrics = Field(default_factory=dict)


class CandidateStarted(_Event):
    """A candidate of a turn's batch begins: patch, audit, run, measure, decide."""

    event: Literal["candidate_started"] = "candidate_started"
    turn: int
    candidate: int
    of: int
    rationale: str = ""


class InternalFailed(_Event):
    """A bug caught at the engine's last-resort boundary; the traceback is in ``traceback_file``."""

    event: Literal["internal_error"] = "internal_error"
    error: str
    kind: str
    traceback_file: str = "internal_error.txt"


class SnapshotNotes(_Event):
    """What the snapshot left out of the isolated copy (FIFOs, sockets, devices, unreadable files...)."""

    event: Literal["snapshot_notes"] = "snapshot_notes"
    skipped: dict[str, str] = Field(default_factory=dict, description="path -> why it was left out")


class Resumed(_Event):
    """A killed run was resumed: the events before this line were replayed, those after it are new."""

    event: Literal["resumed"] = "resumed"
    replayed_events: int
    replayed_brain_calls: int = 0
    replayed_measurements: int = 0
    cleaned: list[str] = Field(default_factory=list)


class StoreUnavailable(_Event):
    """The artifact store could not be written; the run goes on with its local copy, which holds everything."""

    event: Literal["store_unavailable"] = "store_unavailable"
    store: str
    error: str


class RunFinished(_Event):
    event: Literal["run_finished"] = "run_finished"
    outcome: Outcome
    reason: str
    turns: int
    brain_calls: int
    usage: dict[str, Any] = Field(default_factory=dict)


Event = Annotated[
    Union[RunStarted, ClusterJoined, PlanAccepted, PlanRejectedEvent, PlanGivenUp, PlanUnmeasurable, Hydrated,
          HydrationExhausted, Scouting, Baseline, TimeoutsFitted, PreflightFailed, InstrumentationRejected,
          InstrumentationVetoed, Instrumented,
          DiagramWritten, WitnessesWritten, MeasuredAway, Replanned, PatchesRejected, CandidateDone, TurnDone, Final,
          Verification, Judged, BudgetExceededEvent, EngineFailed, Cancelled, BrainAsked, CandidateStarted,
          CandidateMeasured,
          InternalFailed, SnapshotNotes, Resumed,
          StoreUnavailable, RunFinished],
    Field(discriminator="event"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(line: str) -> Event:
    """One line of ``events.ndjson`` as its typed event (raises ``pydantic.ValidationError`` if it is not one)."""
    return EVENT_ADAPTER.validate_json(line)


def dump_event(event: Event) -> str:
    return event.model_dump_json()
