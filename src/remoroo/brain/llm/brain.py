"""The LLM brain: prompt, parse tolerantly, validate strictly, repair with feedback, account usage.

Stateless: everything it knows arrives in the request, and its usage goes
back in the response for the engine to sum and budget. Output is requested
as JSON matching a schema (structured output where the endpoint has it);
otherwise the first JSON object in the text is taken, fences and prose
around it ignored. An answer that does not validate is shown its
validation error and asked again, ``max_repairs`` times; then the brain gives
up, with the raw outputs kept as evidence.
"""

from __future__ import annotations

import json
import time
from importlib import resources
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from remoroo.brain.llm.backends import Backend
from remoroo.errors import BrainError, BrainTimeout
from remoroo.protocol.wire import (
    AnyRequest,
    AnyResponse,
    InstrumentResponse,
    JudgeResponse,
    PatchResponse,
    PlanResponse,
    Usage,
)


class LLMSettings(BaseModel):
    provider: str = "openai"
    model: str = ""
    base_url: str | None = None
    api_key: str | None = Field(default=None, exclude=True, repr=False)
    timeout_s: float = 120.0
    max_repairs: int = 2
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0


def make_backend(settings: LLMSettings) -> Backend:
    from remoroo.brain.llm.backends import AnthropicBackend, OpenAIBackend

    if settings.provider == "anthropic":
        return AnthropicBackend(settings.model, settings.base_url, settings.api_key, settings.timeout_s)
    return OpenAIBackend(settings.model, settings.base_url, settings.api_key, settings.timeout_s)


def prompt(name: str) -> str:
    return resources.files("remoroo.brain.llm").joinpath("prompts", f"{name}.md").read_text(encoding="utf-8")


class _PlanAnswer(BaseModel):
    plan: dict[str, Any] | None = None
    give_up: str | None = None


class _PatchAnswer(BaseModel):
    proposals: list[dict[str, Any]] = Field(default_factory=list)
    give_up: str | None = None


Answer = type[PlanResponse] | type[PatchResponse] | type[InstrumentResponse] | type[JudgeResponse]
RESPONSES: dict[str, Answer] = {"plan": PlanResponse, "patch": PatchResponse,
                                         "instrument": InstrumentResponse, "judge": JudgeResponse}


def answer_schema(kind: str) -> dict[str, Any]:
    schema = RESPONSES[kind].model_json_schema()
    for key in ("protocol", "kind", "usage", "raw_outputs"):
        schema["properties"].pop(key, None)
    schema.pop("required", None)
    return schema


def extract_json(text: str) -> Any:
    """The first JSON object in ``text``: the whole text, a fenced block, or a balanced {...} span."""
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    decoder = json.JSONDecoder()
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            value, _ = decoder.raw_decode(text[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    raise ValueError("no JSON object found in the answer")


class LLMBrain:
    def __init__(self, backend: Backend, settings: LLMSettings) -> None:
        self.backend = backend
        self.settings = settings

    def respond(self, request: AnyRequest) -> AnyResponse:
        kind = request.kind
        schema = answer_schema(kind)
        messages = [{"role": "user", "content": self._message(request, schema)}]
        usage = Usage()
        raw: list[str] = []
        error = ""
        end = None if request.time_left_s is None else time.monotonic() + request.time_left_s
        for _ in range(self.settings.max_repairs + 1):
            if request.tokens_left is not None and usage.tokens >= request.tokens_left:
                return self._give_up(kind, "the run's token budget ran out during repairs", usage, raw)
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0.05:
                return self._give_up(kind, "the time this call was given ran out", usage, raw)
            try:
                completion = self.backend.complete(prompt("system"), messages, schema, left)
            except BrainTimeout as exc:
                return self._give_up(kind, f"the model endpoint stalled: {exc}", usage, raw)
            usage = usage + self._usage(completion.input_tokens, completion.output_tokens)
            try:
                return self._parse(kind, completion.text, usage)
            except (ValueError, ValidationError) as exc:
                error = _short(exc)
                raw.append(completion.text)
                messages += [{"role": "assistant", "content": completion.text},
                             {"role": "user", "content": f"That answer is invalid: {error}\n"
                                                         "Answer again with only the corrected JSON object."}]
        return self._give_up(kind, f"malformed model output after {len(raw)} attempt(s): {error}", usage, raw)

    def _message(self, request: AnyRequest, schema: dict[str, Any]) -> str:
        return (f"{prompt(request.kind)}\n\nThe request:\n```json\n{request.model_dump_json(indent=1)}\n```\n\n"
                f"Answer with one JSON object matching this JSON Schema:\n```json\n{json.dumps(schema)}\n```\n")

    def _usage(self, tokens_in: int, tokens_out: int) -> Usage:
        cost = (tokens_in * self.settings.price_in_per_mtok + tokens_out * self.settings.price_out_per_mtok) / 1e6
        return Usage(input_tokens=tokens_in, output_tokens=tokens_out, cost_usd=round(cost, 8), model_calls=1)

    def _parse(self, kind: str, text: str, usage: Usage) -> AnyResponse:
        data = extract_json(text)
        if not isinstance(data, dict):
            raise ValueError("the answer must be a JSON object")
        data = {k: v for k, v in data.items() if k not in ("protocol", "kind", "usage", "raw_outputs")}
        return RESPONSES[kind].model_validate({**data, "usage": usage})

    def _give_up(self, kind: str, reason: str, usage: Usage, raw: list[str]) -> AnyResponse:
        if kind == "judge":
            return JudgeResponse(reasoning=f"(no judgement: {reason})", usage=usage, raw_outputs=raw)
        answer = {"plan": PlanResponse, "patch": PatchResponse, "instrument": InstrumentResponse}[kind]
        return answer(give_up=reason, usage=usage, raw_outputs=raw)


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()[:5]]
        return "; ".join(parts)
    return str(exc)


__all__ = ["BrainError", "LLMBrain", "LLMSettings", "answer_schema", "extract_json", "make_backend"]
