"""The brain protocol: versioned requests and responses, serialized on every call.

A brain sees only what a request carries (goal, targets, context slice,
metric history, log tails, feedback, previous decisions) and keeps no state
between calls. The engine talks to every brain, in-process or remote,
through :class:`BrainClient`, which sends JSON text over a transport.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final, Literal, Protocol, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    model_serializer,
    model_validator,
)

from remoroo.model.outcomes import Decision, Outcome
from remoroo.model.patch import PatchProposal
from remoroo.model.plan import Plan
from remoroo.model.witness import Witness

PROTOCOL: Final = "remoroo.brain/1"


def new_request_id() -> str:
    return uuid.uuid4().hex


class Usage(BaseModel):
    """What a brain call cost: reported by the brain, summed and budgeted by the engine."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model_calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(input_tokens=self.input_tokens + other.input_tokens,
                     output_tokens=self.output_tokens + other.output_tokens,
                     cost_usd=round(self.cost_usd + other.cost_usd, 8),
                     model_calls=self.model_calls + other.model_calls)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class StatedTarget(BaseModel):
    """A target the goal states only in words ("run in under 0.5s" -> ``runtime_s < 0.5s``), read by the engine."""

    phrase: str
    spec: str


class GoalView(BaseModel):
    text: str
    spec: str
    targets: list[str] = Field(description="Measurable clauses, in canonical form.")
    semantic: list[str] = Field(default_factory=list, description="Clauses the plan must resolve.")
    stated: list[StatedTarget] = Field(default_factory=list, description=(
        "Targets the goal's words state (numbers with units, comparisons in words): what a plan may resolve "
        "semantic clauses into, for the user to confirm."))


class Excerpt(BaseModel):
    """The source of one symbol of a file left out of the budget."""

    symbol: str
    start_line: int
    end_line: int
    text: str


class FileView(BaseModel):
    path: str
    size: int
    content: str | None = Field(default=None, description="None when left out of the budget.")
    outline: list[str] = Field(default_factory=list, description=(
        "For a file left out: its symbols as `start-end kind name(signature)`, from the repo index."))
    excerpts: list[Excerpt] = Field(default_factory=list, description=(
        "For a file left out: the source of its symbols named after a goal metric or in a failure's stack."))
    protected: str | None = Field(default=None, description=(
        "Set by the engine once a plan exists: why any change to this file would be vetoed."))
    frozen: list[list[int]] = Field(default_factory=list, description=(
        "Line ranges [start, end] of the metric's own code in this file (its check, counters, __main__ block): "
        "a change there is vetoed."))

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Empty outlines, excerpts and protection notes are left out of the wire format: a slice lists every file."""
        data: dict[str, Any] = handler(self)
        for key in ("outline", "excerpts", "protected", "frozen"):
            if not data.get(key):
                data.pop(key, None)
        return data


class ContextSlice(BaseModel):
    files: list[FileView]
    omitted: list[str] = Field(default_factory=list, description="Paths whose content was left out.")
    budget_chars: int


class CommandCandidate(BaseModel):
    """A command the engine found in the repository, with where it found it. The brain chooses; the
    engine runs only what the validated plan names."""

    run: str = Field(description="Shell command line, as it would appear in a plan command.")
    cwd: str = Field(default=".", description="Folder relative to the repository root.")
    env: dict[str, str] = Field(default_factory=dict, description="Environment the command needs, e.g. "
                                                                  "PYTHONPATH=src for a src/ layout.")
    source: Literal["readme", "makefile", "console_script", "main_guard", "main_module", "script", "tests",
                    "package_json", "go", "cargo"]
    evidence: str = Field(description="Where it was found: `file:line: why`.")
    entry: str | None = Field(default=None, description="The repository file the command starts from.")
    service: str | None = Field(default=None, description="A server to start first (with `{port}`), as the "
                                                          "README shows it.")
    service_entry: str | None = None


class Hydration(BaseModel):
    """A file the brain needs to see in full, and why."""

    path: str
    reason: str = ""


class StateSummary(BaseModel):
    """One measured state: the baseline or a turn's candidate."""

    label: str
    turn: int
    candidate: int = Field(default=0, description="Index in the turn's batch (1-based); 0 for the baseline.")
    metrics: dict[str, Union[bool, int, float, str, None]]
    decision: Decision
    reason: str
    files: list[str] = Field(default_factory=list)
    rationale: str = Field(default="", description="The brain's own rationale for this candidate, echoed back.")
    diff: str = Field(default="", description="The candidate's change, trimmed to about 40 lines.")
    error: str = Field(default="", description="What it printed when it failed: the tail of the failing "
                                               "command's stderr, or the compiler's message.")


class ObservedValue(BaseModel):
    """One labelled number a scouting run printed or wrote."""

    label: str = Field(description="As the program wrote it: 'Accuracy', 'val_acc', 'latency (ms)', 'eval.f1'.")
    value: Union[bool, int, float]
    source: Literal["stdout", "stderr", "file"]
    path: str | None = Field(default=None, description="file: the file written, relative to the repository root.")
    key: str | None = Field(default=None, description="file: the dotted key (JSON, YAML) or column (CSV).")
    line: str | None = Field(default=None, description="stdout/stderr: the line it was on.")
    unit: str | None = None


class Scouted(BaseModel):
    """A scouting run of one candidate command (sandboxed, stdin closed, a short timeout): what it showed."""

    run: str
    cwd: str = "."
    exit_code: int | None = None
    timed_out: bool = False
    duration_s: float = 0.0
    waits_for_input: bool = Field(default=False, description="It stopped on reading stdin (closed): skip it.")
    error: str = Field(default="", description="A failing run: the last line of its stderr (the exception).")
    note: str = ""
    values: list[ObservedValue] = Field(default_factory=list)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protocol: Literal["remoroo.brain/1"] = PROTOCOL
    request_id: str = Field(default_factory=new_request_id)
    goal: GoalView
    context: ContextSlice
    history: list[StateSummary] = Field(default_factory=list)
    feedback: list[str] = Field(default_factory=list, description="Why the previous answer was refused.")
    tokens_left: int | None = Field(default=None, description="The run's remaining token budget, if any.")
    time_left_s: float | None = Field(default=None, description=(
        "Seconds this call may take: the smaller of the call's own limit and the run's time left."))
    hydrated: list[FileView] = Field(default_factory=list, description="Files the brain asked for, in full.")


class PlanRequest(_Request):
    kind: Literal["plan"] = "plan"
    replan: int = Field(default=0, description="0 for the first plan, then one more per replan.")
    replan_reason: str | None = None
    previous_plan: Plan | None = None
    command_timeout_s: float = Field(default=60.0, gt=0, description="The timeout to give each planned command.")
    observations: dict[str, str] = Field(
        default_factory=dict, description="Log tails of a preflight run of the previous plan, by stream.")
    candidates: list[CommandCandidate] = Field(
        default_factory=list, description="Commands found in the repository (README, Makefile, pyproject "
                                          "scripts, __main__ modules, test runners), each with its evidence.")
    scouted: list[Scouted] = Field(default_factory=list, description=(
        "Scouting runs of the candidates the brain asked to observe, with every number each printed or wrote."))


class PatchRequest(_Request):
    kind: Literal["patch"] = "patch"
    turn: int = Field(ge=1)
    replan: int = 0
    plan: Plan
    log_tails: dict[str, str] = Field(default_factory=dict, description=(
        "The kept state's output, by command and stream (a discarded candidate's output is in its history entry)."))
    repair: StateSummary | None = Field(default=None, description=(
        "A candidate of this turn that crashed or timed out but looked promising: propose corrected versions of "
        "its change."))
    max_candidates: int = Field(default=6, ge=1, le=32, description="At most this many proposals per answer.")
    witnesses: list[Witness] = Field(default_factory=list, description="Reproductions of the latest failures.")


class InstrumentRequest(_Request):
    """The plan's instrumentation found no value for some metrics: add the reporting, or say why not."""

    kind: Literal["instrument"] = "instrument"
    plan: Plan
    missing: dict[str, str] = Field(description="Metric -> why the baseline run had no value for it.")
    observations: dict[str, str] = Field(default_factory=dict)


class JudgeRequest(_Request):
    """Advisory only: the engine's outcome is final; the reasoning goes into the report."""

    kind: Literal["judge"] = "judge"
    outcome: Outcome
    reason: str
    final_metrics: dict[str, Union[bool, int, float, str, None]] = Field(default_factory=dict)


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protocol: Literal["remoroo.brain/1"] = PROTOCOL
    usage: Usage = Field(default_factory=Usage)
    raw_outputs: list[str] = Field(default_factory=list, description="Model text that failed validation: evidence.")
    hydrate: list[Hydration] = Field(default_factory=list, max_length=8,
                                     description="Files needed before answering; the engine sends them next call.")

    def _exactly_one(self, *answers: object) -> None:
        given = sum(1 for a in (*answers, self.hydrate) if a)
        if given != 1:
            raise ValueError(f"a {getattr(self, 'kind', 'brain')} response holds exactly one answer")


class PlanResponse(_Response):
    kind: Literal["plan"] = "plan"
    plan: Plan | None = None
    give_up: str | None = Field(default=None, description="Why no plan can be made.")
    observe: list[str] = Field(default_factory=list, max_length=3, description=(
        "Candidate commands (their 'run', as given) to scout before planning: the engine runs each once, "
        "sandboxed, and the next request carries what they printed and wrote. Once per plan."))

    @model_validator(mode="after")
    def _one_answer(self) -> PlanResponse:
        self._exactly_one(self.plan, self.give_up, self.observe)
        return self


class PatchResponse(_Response):
    kind: Literal["patch"] = "patch"
    proposals: list[PatchProposal] = Field(
        default_factory=list, max_length=32, description="A batch of candidates; the engine keeps the best.")
    give_up: str | None = Field(default=None, description="Why there is nothing more to try.")

    @model_validator(mode="after")
    def _one_answer(self) -> PatchResponse:
        self._exactly_one(self.proposals, self.give_up)
        return self


class InstrumentResponse(_Response):
    kind: Literal["instrument"] = "instrument"
    proposal: PatchProposal | None = Field(default=None, description="A patch that reports the metrics.")
    unmeasurable: str | None = Field(default=None, description="Why the metrics cannot be measured.")
    give_up: str | None = None

    @model_validator(mode="after")
    def _one_answer(self) -> InstrumentResponse:
        self._exactly_one(self.proposal, self.unmeasurable, self.give_up)
        return self


class JudgeResponse(_Response):
    kind: Literal["judge"] = "judge"
    reasoning: str = ""


AnyRequest = Union[PlanRequest, PatchRequest, InstrumentRequest, JudgeRequest]
AnyResponse = Union[PlanResponse, PatchResponse, InstrumentResponse, JudgeResponse]
BrainRequest = Annotated[AnyRequest, Field(discriminator="kind")]
BrainResponse = Annotated[AnyResponse, Field(discriminator="kind")]
REQUEST_ADAPTER: TypeAdapter[BrainRequest] = TypeAdapter(BrainRequest)
RESPONSE_ADAPTER: TypeAdapter[BrainResponse] = TypeAdapter(BrainResponse)

class Transport(Protocol):
    """Sends one serialized request and returns the serialized answer, within ``timeout_s`` when given."""

    def __call__(self, payload: str, timeout_s: float | None = None) -> str: ...


class Brain(Protocol):
    """The model seam: one method."""

    def respond(self, request: AnyRequest) -> AnyResponse: ...


def in_process(brain: Brain) -> Transport:
    """A transport that still serializes both ways, as a remote call would."""

    def send(payload: str, timeout_s: float | None = None) -> str:  # the request carries time_left_s
        request = REQUEST_ADAPTER.validate_json(payload)
        return brain.respond(request).model_dump_json()

    return send
