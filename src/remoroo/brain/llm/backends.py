"""Model backends behind one method, with vendor errors translated here.

Every call has a hard wall-clock timeout on top of the SDK's own: a stalled
endpoint raises :class:`BrainTimeout` and never wedges a run.
"""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from remoroo.errors import BrainError, BrainTimeout

if TYPE_CHECKING:
    from anthropic.types import MessageParam
    from openai.types.chat import ChatCompletionMessageParam


class Completion(BaseModel):
    text: str
    input_tokens: int = 0
    output_tokens: int = 0


class Backend(Protocol):
    name: str

    def complete(self, system: str, messages: list[dict[str, str]], schema: dict[str, Any] | None,
                 timeout_s: float | None = None) -> Completion: ...


def _limit(own: float, given: float | None) -> float:
    """The smaller of a backend's own timeout and the time the call was given."""
    return own if given is None else max(0.05, min(own, given))


def _with_deadline(call: Any, timeout_s: float, what: str) -> Any:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="remoroo-llm")
    future = pool.submit(call)
    try:
        return future.result(timeout=timeout_s + 1.0)
    except concurrent.futures.TimeoutError as exc:
        raise BrainTimeout(f"{what} did not answer within {timeout_s:g}s") from exc
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class OpenAIBackend:
    """Chat completions on any OpenAI-compatible endpoint, with JSON-schema output when supported."""

    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout_s: float,
                 structured: bool = True) -> None:
        import openai

        self.name = f"openai:{model}"
        self.model = model
        self.timeout_s = timeout_s
        self.structured = structured
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s,
                                    max_retries=0)

    def complete(self, system: str, messages: list[dict[str, str]], schema: dict[str, Any] | None,
                 timeout_s: float | None = None) -> Completion:
        import openai

        limit = _limit(self.timeout_s, timeout_s)
        chat = _openai_messages(system, messages)
        kwargs: dict[str, Any] = {}
        if schema is not None and self.structured:
            kwargs["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": "remoroo_answer", "schema": schema}}
        try:
            result = _with_deadline(lambda: self.client.chat.completions.create(
                model=self.model, messages=chat, timeout=limit, **kwargs), limit, self.name)
        except openai.BadRequestError as exc:
            if not kwargs:
                raise BrainError(f"{self.name} refused the request: {exc}") from exc
            self.structured = False  # the endpoint has no structured output: fall back to parsing text
            return self.complete(system, messages, schema, timeout_s)
        except openai.APITimeoutError as exc:
            raise BrainTimeout(f"{self.name} did not answer within {limit:g}s") from exc
        except openai.OpenAIError as exc:
            raise BrainError(f"{self.name} failed: {exc}") from exc
        usage = result.usage
        text = result.choices[0].message.content if result.choices else ""
        return Completion(text=text or "", input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                          output_tokens=getattr(usage, "completion_tokens", 0) or 0)


class AnthropicBackend:
    """The Messages API; the schema is given in the prompt."""

    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout_s: float,
                 max_output_tokens: int = 8192) -> None:
        import anthropic

        self.name = f"anthropic:{model}"
        self.model = model
        self.timeout_s = timeout_s
        self.max_output_tokens = max_output_tokens
        self.client = anthropic.Anthropic(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s,
                                          max_retries=0)

    def complete(self, system: str, messages: list[dict[str, str]], schema: dict[str, Any] | None,
                 timeout_s: float | None = None) -> Completion:
        import anthropic

        limit = _limit(self.timeout_s, timeout_s)
        try:
            result = _with_deadline(lambda: self.client.messages.create(
                model=self.model, max_tokens=self.max_output_tokens, system=system,
                messages=_anthropic_messages(messages), timeout=limit),
                limit, self.name)
        except anthropic.APITimeoutError as exc:
            raise BrainTimeout(f"{self.name} did not answer within {limit:g}s") from exc
        except anthropic.AnthropicError as exc:
            raise BrainError(f"{self.name} failed: {exc}") from exc
        text = "".join(getattr(block, "text", "") for block in result.content)
        usage = result.usage
        return Completion(text=text, input_tokens=getattr(usage, "input_tokens", 0) or 0,
                          output_tokens=getattr(usage, "output_tokens", 0) or 0)


def _openai_messages(system: str, messages: list[dict[str, str]]) -> list[ChatCompletionMessageParam]:
    """Our role/content pairs as the openai SDK's typed message params."""
    chat: list[ChatCompletionMessageParam] = [{"role": "system", "content": system}]
    for m in messages:
        if m["role"] == "assistant":
            chat.append({"role": "assistant", "content": m["content"]})
        else:
            chat.append({"role": "user", "content": m["content"]})
    return chat


def _anthropic_messages(messages: list[dict[str, str]]) -> list[MessageParam]:
    """Our role/content pairs as the anthropic SDK's typed message params."""
    out: list[MessageParam] = []
    for m in messages:
        if m["role"] == "assistant":
            out.append({"role": "assistant", "content": m["content"]})
        else:
            out.append({"role": "user", "content": m["content"]})
    return out
