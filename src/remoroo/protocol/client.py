"""The engine's side of the brain protocol: serialize, redact, budget, record.

Every call, in-process or remote, sends JSON text through a transport. Before
each call the token and cost budgets are checked, and the call is bounded by
one deadline: the smaller of its own limit and the run's time left (the
request says how long it may take, the transport gets that timeout, and the
client stops waiting at it whatever the brain does); secrets and the user's
absolute paths are redacted from the payload; each exchange is recorded in
the run folder as evidence.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from typing import Callable, Iterator, TypeVar

from pydantic import ValidationError

from remoroo.errors import BrainError, BrainTimeout
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
        self.replay: Callable[[str], str | None] | None = None  # a resumed run's recorded answers, in order
        self.deadline: float | None = None  # the run's end on time.monotonic's scale (set by the engine)
        self.call_limit_s: float | None = None  # one call's own limit, when shorter than the run's
        self.calls = 0
        self.usage = Usage()

    @contextmanager
    def allowance(self, tokens: int, seconds: float) -> Iterator[None]:
        """Calls made inside get ``tokens`` beyond the token budget and at most ``seconds`` each (the judge's)."""
        budgets, limit = self.budgets, self.call_limit_s
        more = None if budgets.max_tokens is None else max(budgets.max_tokens, self.usage.tokens) + tokens
        cost = None if budgets.max_cost_usd is None else max(budgets.max_cost_usd, self.usage.cost_usd) * 1.1
        self.budgets = replace(budgets, max_tokens=more, max_cost_usd=cost)
        self.call_limit_s = seconds if limit is None else min(limit, seconds)
        try:
            yield
        finally:
            self.budgets, self.call_limit_s = budgets, limit

    def time_left(self) -> float | None:
        """Seconds the next call may take, or None without any limit."""
        limits = [t for t in (self.call_limit_s,
                              None if self.deadline is None else self.deadline - time.monotonic()) if t is not None]
        return min(limits) if limits else None

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
        tokens = self.budgets.tokens_left(self.usage.tokens)
        if tokens is not None:
            request = request.model_copy(update={"tokens_left": tokens})
        left = self.time_left()
        if left is not None and left <= 0:
            raise BrainTimeout(f"no time left for a {request.kind} call to brain {self.name}: the run's time "
                               "budget is used up")
        if left is not None:
            request = request.model_copy(update={"time_left_s": round(left, 3)})
        self.calls += 1
        payload = request.model_dump_json()
        if self.redact is not None:
            payload = self.redact(payload)
        raw = self.replay(request.kind) if self.replay is not None else None
        if raw is None:
            raw = _bounded(self.transport, payload, left, f"brain {self.name} ({request.kind})")
            if self.recorder is not None:
                self.recorder(request.kind, payload, raw)
        try:
            response = RESPONSE_ADAPTER.validate_json(raw)
        except ValidationError as exc:
            raise BrainError(f"brain {self.name} sent an invalid {request.kind} response: {exc}") from exc
        self.usage = self.usage + response.usage
        return response


def _bounded(transport: Transport, payload: str, timeout_s: float | None, what: str) -> str:
    """The transport's answer, or BrainTimeout once ``timeout_s`` (plus a grace second) has passed.

    The call runs on a daemon thread: a brain that ignores its timeout is abandoned, never waited for,
    and cannot keep the process alive after the run.
    """
    if timeout_s is None:
        return transport(payload)
    box: dict[str, object] = {}

    def call() -> None:
        try:
            box["answer"] = transport(payload, timeout_s)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread as it is
            box["error"] = exc

    worker = threading.Thread(target=call, name="remoroo-brain-call", daemon=True)
    worker.start()
    worker.join(timeout_s + 1.0)
    if worker.is_alive():
        raise BrainTimeout(f"{what} did not answer within {timeout_s:.1f}s (the smaller of the call's limit "
                           "and the run's time left)")
    if "error" in box:
        error = box["error"]
        assert isinstance(error, BaseException)
        raise error
    answer = box["answer"]
    assert isinstance(answer, str)
    return answer
