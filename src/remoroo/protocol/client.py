"""The engine's side of the brain protocol: serialize, redact, budget, record.

Every call, in-process or remote, sends JSON text through a transport. Before
each call the token and cost budgets are checked; secrets and the user's
absolute paths are redacted from the payload; each exchange is recorded in
the run folder as evidence.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from pydantic import ValidationError

from remoroo.errors import BrainError
from remoroo.model.budgets import Budgets
from remoroo.protocol.wire import (
    RESPONSE_ADAPTER,
    AnyRequest,
    AnyResponse,
    InstrumentRequest,
    InstrumentResponse,
    JudgeRequest,
    JudgeResponse,
    PatchRequest,
    PatchResponse,
    PlanRequest,
    PlanResponse,
    Transport,
    Usage,
)

Recorder = Callable[[str, str, str], None]
_R = TypeVar("_R", PlanResponse, PatchResponse, InstrumentResponse, JudgeResponse)


class BrainClient:
    def __init__(self, transport: Transport, name: str, *, budgets: Budgets | None = None,
                 redact: Callable[[str], str] | None = None) -> None:
        self.transport = transport
        self.name = name
        self.budgets = budgets or Budgets()
        self.redact = redact
        self.recorder: Recorder | None = None
        self.calls = 0
        self.usage = Usage()

    def plan(self, request: PlanRequest) -> PlanResponse:
        return self._typed(request, PlanResponse)

    def patch(self, request: PatchRequest) -> PatchResponse:
        return self._typed(request, PatchResponse)

    def instrument(self, request: InstrumentRequest) -> InstrumentResponse:
        return self._typed(request, InstrumentResponse)

    def judge(self, request: JudgeRequest) -> JudgeResponse:
        return self._typed(request, JudgeResponse)

    def _typed(self, request: AnyRequest, expected: type[_R]) -> _R:
        response = self._call(request)
        if not isinstance(response, expected):
            raise BrainError(f"brain {self.name} answered a {request.kind} request with a {response.kind} response")
        return response

    def _call(self, request: AnyRequest) -> AnyResponse:
        self.budgets.check_spend(self.usage.tokens, self.usage.cost_usd)
        left = self.budgets.tokens_left(self.usage.tokens)
        if left is not None:
            request = request.model_copy(update={"tokens_left": left})
        self.calls += 1
        payload = request.model_dump_json()
        if self.redact is not None:
            payload = self.redact(payload)
        raw = self.transport(payload)
        if self.recorder is not None:
            self.recorder(request.kind, payload, raw)
        try:
            response = RESPONSE_ADAPTER.validate_json(raw)
        except ValidationError as exc:
            raise BrainError(f"brain {self.name} sent an invalid {request.kind} response: {exc}") from exc
        self.usage = self.usage + response.usage
        return response
