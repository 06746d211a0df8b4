"""The LLM brain: render, call resiliently, parse tolerantly, validate strictly, repair with feedback.

Stateless: everything it knows arrives in the request, and its usage goes
back in the response for the engine to sum and budget. Plans,
instrumentation and judgements come back as JSON matching a schema
(structured output where the endpoint has it); patches as plain-text
proposal sections with SEARCH/REPLACE blocks (:mod:`answers`).

On the way to an answer:
- a 429, 5xx, dropped connection or stall is tried again (:mod:`calls`);
- an answer cut off at the output cap is asked again for half as many
  candidates (or a shorter answer);
- a request too long for the model's window is rendered again with half the
  budget;
- an answer that does not validate is shown its error and asked again,
  ``max_repairs`` times; then the brain gives up, with the raw outputs kept
  as evidence.
"""

from __future__ import annotations

import json
import time

from pydantic import BaseModel, Field, ValidationError

from remoroo.brain.llm.answers import answer_schema, extract_json, parse_json, parse_patch
from remoroo.brain.llm.backends import Backend, Turn
from remoroo.brain.llm.calls import Attempts, complete
from remoroo.brain.llm.render import CHARS_PER_TOKEN, prompt, render
from remoroo.errors import BrainError, BrainTimeout, BrainUnavailable, ContextTooLong
from remoroo.protocol.wire import (
    AnyRequest,
    AnyResponse,
    InstrumentResponse,
    JudgeResponse,
    PatchRequest,
    PatchResponse,
    PlanResponse,
    Usage,
)

CONTEXT_TOKENS = {"openai": 24_000, "anthropic": 28_000}  # per call, at four characters a token
MAX_CUT_OFFS = 2
MAX_SHRINKS = 3


class LLMSettings(BaseModel):
    provider: str = "openai"
    model: str = ""
    base_url: str | None = None
    api_key: str | None = Field(default=None, exclude=True, repr=False)
    timeout_s: float = 300.0
    max_repairs: int = 2
    max_attempts: int = Field(default=6, ge=1, description="Tries of one call on 429, 5xx, drops and stalls.")
    max_output_tokens: int | None = Field(default=None, gt=0, description="The answer's cap (default: the "
                                                                         "endpoint's; 16384 for Anthropic).")
    context_tokens: int | None = Field(default=None, ge=2000, description="The request's budget (default: "
                                                                         "24k for OpenAI-compatible, 28k Anthropic).")
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0

    def budget(self) -> int:
        return self.context_tokens or CONTEXT_TOKENS.get(self.provider, 24_000)


def make_backend(settings: LLMSettings) -> Backend:
    from remoroo.brain.llm.backends import AnthropicBackend, OpenAIBackend

    if settings.provider == "anthropic":
        return AnthropicBackend(settings.model, settings.base_url, settings.api_key, settings.timeout_s,
                                max_output_tokens=settings.max_output_tokens)
    return OpenAIBackend(settings.model, settings.base_url, settings.api_key, settings.timeout_s,
                         max_output_tokens=settings.max_output_tokens)


class LLMBrain:
    def __init__(self, backend: Backend, settings: LLMSettings) -> None:
        self.backend = backend
        self.settings = settings

    def respond(self, request: AnyRequest) -> AnyResponse:
        kind = request.kind
        schema = None if kind == "patch" else answer_schema(kind)
        fmt = prompt("patch_format") if kind == "patch" else (
            "Answer with one JSON object matching this JSON Schema:\n```json\n" + json.dumps(schema) + "\n```")
        cap = request.max_candidates if isinstance(request, PatchRequest) else None
        budget = self.settings.budget()
        tries = self.settings.max_attempts  # the judge is advisory: two tries at most
        usage, raw, notes = Usage(), list[str](), list[str]()
        repairs = cut_offs = shrinks = 0
        end = None if request.time_left_s is None else time.monotonic() + request.time_left_s
        turns: list[Turn] = []
        error = ""
        while True:
            if not turns:
                shown = render(request, budget, answer_format=fmt, max_candidates=cap, notes=notes)
                turns = [Turn(role="user", stable=shown.stable, text=shown.volatile)]
            if request.tokens_left is not None and usage.tokens >= request.tokens_left:
                return self._give_up(kind, "the run's token budget ran out during repairs", usage, raw)
            try:
                completion = complete(self.backend, prompt("system"), turns, schema, end, attempts=Attempts(),
                                      max_attempts=min(2, tries) if kind == "judge" else tries)
            except ContextTooLong as exc:
                shrinks += 1
                if shrinks > MAX_SHRINKS:
                    return self._give_up(kind, f"the request stays too long for the model: {exc}", usage, raw)
                budget = max(2000, min(budget, _tokens(turns)) // 2)
                turns = []
                continue
            except BrainTimeout as exc:
                return self._give_up(kind, f"the model endpoint stalled: {exc}", usage, raw)
            except BrainUnavailable as exc:
                return self._give_up(kind, f"the model endpoint failed: {exc}", usage, raw)
            usage = usage + self._usage(completion.input_tokens, completion.output_tokens)
            if completion.cut_off:
                cut_offs += 1
                raw.append(completion.text)
                if cut_offs > MAX_CUT_OFFS:
                    return self._give_up(kind, f"the answers were cut off at the output cap {cut_offs} times: "
                                               "raise llm_max_output_tokens", usage, raw)
                if cap is not None:
                    cap = max(1, cap // 2)
                notes = ["Your previous answer was cut off at the output limit. Answer again, shorter"
                         + (f": at most {cap} proposal(s), each with small SEARCH blocks." if cap else ".")]
                turns = []
                continue
            try:
                answer = self._parse(kind, completion.text, usage, cap)
                return answer.model_copy(update={"raw_outputs": raw}) if raw else answer
            except (ValueError, ValidationError) as exc:
                error = _short(exc)
                raw.append(completion.text)
                repairs += 1
                if repairs > self.settings.max_repairs:
                    break
                again = ("Answer again with the corrected proposal sections." if kind == "patch"
                         else "Answer again with only the corrected JSON object.")
                turns = [*turns, Turn(role="assistant", text=completion.text),
                         Turn(role="user", text=f"That answer is invalid: {error}\n{again}")]
        return self._give_up(kind, f"malformed model output after {len(raw)} attempt(s): {error}", usage, raw)

    def _usage(self, tokens_in: int, tokens_out: int) -> Usage:
        cost = (tokens_in * self.settings.price_in_per_mtok + tokens_out * self.settings.price_out_per_mtok) / 1e6
        return Usage(input_tokens=tokens_in, output_tokens=tokens_out, cost_usd=round(cost, 8), model_calls=1)

    def _parse(self, kind: str, text: str, usage: Usage, cap: int | None) -> AnyResponse:
        if kind == "patch":
            return parse_patch(text, usage, cap or 32)
        response: AnyResponse = parse_json(kind, text, usage)
        return response

    def _give_up(self, kind: str, reason: str, usage: Usage, raw: list[str]) -> AnyResponse:
        if kind == "judge":
            return JudgeResponse(reasoning=f"(no judgement: {reason})", usage=usage, raw_outputs=raw)
        answer = {"plan": PlanResponse, "patch": PatchResponse, "instrument": InstrumentResponse}[kind]
        return answer(give_up=reason, usage=usage, raw_outputs=raw)


def _tokens(turns: list[Turn]) -> int:
    return sum(len(t.stable) + len(t.text) for t in turns) // CHARS_PER_TOKEN


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()[:5]]
        return "; ".join(parts)
    return str(exc)


def message_text(request: AnyRequest, settings: LLMSettings | None = None) -> str:
    """The whole user message one call would send (for ``benchmarks/prompt_size.py`` and tests)."""
    settings = settings or LLMSettings()
    kind = request.kind
    fmt = prompt("patch_format") if kind == "patch" else json.dumps(answer_schema(kind))
    shown = render(request, settings.budget(), answer_format=fmt,
                   max_candidates=getattr(request, "max_candidates", None))
    return shown.stable + shown.volatile


__all__ = ["BrainError", "LLMBrain", "LLMSettings", "answer_schema", "extract_json", "make_backend",
           "message_text"]
