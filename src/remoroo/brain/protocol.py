"""The brain protocol: versioned requests and responses, serialized on every call.

A brain sees only what a request carries (goal, targets, context slice,
metric history, log tails, feedback, previous decisions) and keeps no state
between calls. The engine talks to every brain, in-process or remote,
through :class:`BrainClient`, which sends JSON text over a transport.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Callable, Literal, Protocol, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from remoroo.errors import BrainError
from remoroo.patch import PatchProposal
from remoroo.plan import Plan

PROTOCOL = "remoroo.brain/1"


def new_request_id() -> str:
    return uuid.uuid4().hex


class GoalView(BaseModel):
    text: str
    spec: str
    targets: list[str] = Field(description="Measurable clauses, in canonical form.")
    semantic: list[str] = Field(default_factory=list, description="Clauses the plan must resolve.")


class FileView(BaseModel):
    path: str
    size: int
    content: str | None = Field(default=None, description="None when left out of the budget.")


class ContextSlice(BaseModel):
    files: list[FileView]
    omitted: list[str] = Field(default_factory=list, description="Paths whose content was left out.")
    budget_chars: int


class StateSummary(BaseModel):
    """One measured state: the baseline or a turn's candidate."""

    label: str
    turn: int
    candidate: int = Field(default=0, description="Index in the turn's batch (1-based); 0 for the baseline.")
    metrics: dict[str, Union[bool, int, float, str, None]]
    decision: str
    reason: str
    files: list[str] = Field(default_factory=list)
    rationale: str = Field(default="", description="The brain's own rationale for this candidate, echoed back.")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protocol: Literal["remoroo.brain/1"] = PROTOCOL
    request_id: str = Field(default_factory=new_request_id)
    goal: GoalView
    context: ContextSlice
    history: list[StateSummary] = Field(default_factory=list)
    feedback: list[str] = Field(default_factory=list, description="Why the previous answer was refused.")


class PlanRequest(_Request):
    kind: Literal["plan"] = "plan"
    replan: int = Field(default=0, description="0 for the first plan, then one more per replan.")
    replan_reason: str | None = None
    previous_plan: Plan | None = None
    command_timeout_s: float = Field(default=60.0, gt=0, description="The timeout to give each planned command.")
    observations: dict[str, str] = Field(
        default_factory=dict, description="Log tails of a preflight run of the previous plan, by stream.")


class PatchRequest(_Request):
    kind: Literal["patch"] = "patch"
    turn: int = Field(ge=1)
    replan: int = 0
    plan: Plan
    log_tails: dict[str, str] = Field(default_factory=dict)
    max_candidates: int = Field(default=6, ge=1, le=32, description="At most this many proposals per answer.")


class PlanResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protocol: Literal["remoroo.brain/1"] = PROTOCOL
    kind: Literal["plan"] = "plan"
    plan: Plan | None = None
    give_up: str | None = Field(default=None, description="Why no plan can be made.")

    @model_validator(mode="after")
    def _one_answer(self) -> PlanResponse:
        if (self.plan is None) == (self.give_up is None):
            raise ValueError("a plan response holds exactly one of plan or give_up")
        return self


class PatchResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protocol: Literal["remoroo.brain/1"] = PROTOCOL
    kind: Literal["patch"] = "patch"
    proposals: list[PatchProposal] = Field(
        default_factory=list, max_length=32, description="A batch of candidates; the engine keeps the best.")
    give_up: str | None = Field(default=None, description="Why there is nothing more to try.")

    @model_validator(mode="after")
    def _one_answer(self) -> PatchResponse:
        if bool(self.proposals) == (self.give_up is not None):
            raise ValueError("a patch response holds either proposals or give_up")
        return self


BrainRequest = Annotated[Union[PlanRequest, PatchRequest], Field(discriminator="kind")]
BrainResponse = Annotated[Union[PlanResponse, PatchResponse], Field(discriminator="kind")]
REQUEST_ADAPTER: TypeAdapter[BrainRequest] = TypeAdapter(BrainRequest)
RESPONSE_ADAPTER: TypeAdapter[BrainResponse] = TypeAdapter(BrainResponse)

Transport = Callable[[str], str]


class Brain(Protocol):
    """The model seam: one method."""

    def respond(self, request: PlanRequest | PatchRequest) -> PlanResponse | PatchResponse: ...


def in_process(brain: Brain) -> Transport:
    """A transport that still serializes both ways, as a remote call would."""

    def send(payload: str) -> str:
        request = REQUEST_ADAPTER.validate_json(payload)
        return brain.respond(request).model_dump_json()

    return send


class BrainClient:
    """The engine's side of the protocol."""

    def __init__(self, transport: Transport, name: str) -> None:
        self.transport = transport
        self.name = name
        self.calls = 0

    def plan(self, request: PlanRequest) -> PlanResponse:
        response = self._call(request)
        if not isinstance(response, PlanResponse):
            raise BrainError(f"brain {self.name} answered a plan request with a {response.kind} response")
        return response

    def patch(self, request: PatchRequest) -> PatchResponse:
        response = self._call(request)
        if not isinstance(response, PatchResponse):
            raise BrainError(f"brain {self.name} answered a patch request with a {response.kind} response")
        return response

    def _call(self, request: PlanRequest | PatchRequest) -> PlanResponse | PatchResponse:
        self.calls += 1
        raw = self.transport(request.model_dump_json())
        try:
            return RESPONSE_ADAPTER.validate_json(raw)
        except ValidationError as exc:
            raise BrainError(f"brain {self.name} sent an invalid {request.kind} response: {exc}") from exc
