"""Model backends behind one method, with vendor errors translated here.

Every call has a hard wall-clock timeout on top of the SDK's own: a stalled
endpoint raises :class:`BrainTimeout` and never wedges a run. The SDKs'
own retries are off: :mod:`remoroo.brain.llm.calls` retries within the
run's deadline, from the typed errors raised here:

- 429, 5xx, 408/409, an overloaded endpoint, a dropped connection:
  :class:`BrainUnavailable` (with the endpoint's ``Retry-After``);
- a request longer than the model's window: :class:`ContextTooLong`;
- a refused key, a missing model, any other 4xx: :class:`BrainError`.

A request is a system text and turns; a user turn may carry a stable
prefix, which Anthropic caches (``cache_control``) and OpenAI-compatible
endpoints cache by prefix on their own.
"""

from __future__ import annotations

import concurrent.futures
import email.utils
import re
import time
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from remoroo.errors import BrainError, BrainTimeout, BrainUnavailable, ContextTooLong

if TYPE_CHECKING:
    from anthropic.types import MessageParam, TextBlockParam
    from openai.types.chat import ChatCompletionMessageParam


class Turn(BaseModel):
    """One message; ``stable`` is a prefix of the text that stays the same from call to call (cacheable)."""

    role: str
    text: str
    stable: str = ""


class Completion(BaseModel):
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cut_off: bool = False  # the answer stopped at the output cap (finish_reason length / stop_reason max_tokens)


class Backend(Protocol):
    name: str

    def complete(self, system: str, turns: list[Turn], schema: dict[str, Any] | None,
                 timeout_s: float | None = None) -> Completion: ...


_TOO_LONG = re.compile(
    r"context[_ ]length|context window|maximum context|prompt is too long|too many tokens|input is too long|"
    r"reduce the length|exceeds? the (?:model'?s? )?(?:maximum|context)|request too large|token limit",
    re.I)
_TRANSIENT = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}


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


def retry_after(headers: Any) -> float | None:
    """The wait an endpoint asked for: ``retry-after-ms``, or ``retry-after`` in seconds or as an HTTP date."""
    if headers is None:
        return None
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000)
        value = headers.get("retry-after")
    except (AttributeError, TypeError, ValueError):
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(str(value))
        return None if parsed is None else max(0.0, email.utils.mktime_tz(parsed) - time.time())


def translate(exc: Exception, sdk: Any, name: str, limit: float) -> BrainError:
    """The typed error for an openai or anthropic SDK exception (both SDKs share these classes' shapes)."""
    if isinstance(exc, sdk.APITimeoutError):
        return BrainTimeout(f"{name} did not answer within {limit:g}s")
    if isinstance(exc, sdk.APIConnectionError):
        return BrainUnavailable(f"{name} could not be reached: {exc}")
    if isinstance(exc, sdk.APIStatusError):
        status = int(getattr(exc, "status_code", 0) or 0)
        message = _message(exc)
        if status in (400, 413, 422) and _TOO_LONG.search(message):
            return ContextTooLong(f"{name}: the request is longer than the model's context window ({message})")
        if status in _TRANSIENT or status >= 500:
            return BrainUnavailable(f"{name} answered HTTP {status}: {message}",
                                    retry_after=retry_after(getattr(exc.response, "headers", None)), status=status)
        if status in (401, 403):
            return BrainError(f"{name} refused the API key (HTTP {status}): set REMOROO_LLM_API_KEY (or the "
                              f"provider's own variable) to a valid key. {message}")
        if status == 404:
            return BrainError(f"{name} answered 404 (no such model or path): check --llm-model and --llm-base-url. "
                              f"{message}")
        return BrainError(f"{name} refused the request (HTTP {status}): {message}")
    return BrainError(f"{name} failed: {exc}")


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:500]
    return str(getattr(exc, "message", "") or exc)[:500]


class OpenAIBackend:
    """Chat completions on any OpenAI-compatible endpoint, with JSON-schema output when supported."""

    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout_s: float,
                 structured: bool = True, max_output_tokens: int | None = None) -> None:
        import openai

        self.name = f"openai:{model}"
        self.model = model
        self.timeout_s = timeout_s
        self.structured = structured
        self.max_output_tokens = max_output_tokens
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s,
                                    max_retries=0)

    def complete(self, system: str, turns: list[Turn], schema: dict[str, Any] | None,
                 timeout_s: float | None = None) -> Completion:
        import openai

        limit = _limit(self.timeout_s, timeout_s)
        chat = _openai_messages(system, turns)
        kwargs: dict[str, Any] = {}
        if self.max_output_tokens:
            kwargs["max_tokens"] = self.max_output_tokens
        structured = schema is not None and self.structured
        if structured:
            kwargs["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": "remoroo_answer", "schema": schema}}
        try:
            result = _with_deadline(lambda: self.client.chat.completions.create(
                model=self.model, messages=chat, timeout=limit, **kwargs), limit, self.name)
        except openai.OpenAIError as exc:
            error = translate(exc, openai, self.name, limit)
            if structured and type(error) is BrainError and isinstance(exc, openai.BadRequestError):
                # perhaps no structured output here: ask once without it, and keep it off only if that works
                self.structured = False
                try:
                    return self.complete(system, turns, schema, timeout_s)
                except BrainError:
                    self.structured = True
                    raise
            raise error from exc
        usage = result.usage
        choice = result.choices[0] if result.choices else None
        text = choice.message.content if choice is not None else ""
        details = getattr(usage, "prompt_tokens_details", None)
        return Completion(text=text or "", input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                          output_tokens=getattr(usage, "completion_tokens", 0) or 0,
                          cached_tokens=getattr(details, "cached_tokens", 0) or 0,
                          cut_off=choice is not None and choice.finish_reason == "length")


class AnthropicBackend:
    """The Messages API; the schema is given in the prompt, the stable prefix is marked for caching."""

    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout_s: float,
                 max_output_tokens: int | None = None) -> None:
        import anthropic

        self.name = f"anthropic:{model}"
        self.model = model
        self.timeout_s = timeout_s
        self.max_output_tokens = max_output_tokens or 16384
        self.client = anthropic.Anthropic(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s,
                                          max_retries=0)

    def complete(self, system: str, turns: list[Turn], schema: dict[str, Any] | None,
                 timeout_s: float | None = None) -> Completion:
        import anthropic

        limit = _limit(self.timeout_s, timeout_s)
        try:
            result = _with_deadline(lambda: self.client.messages.create(
                model=self.model, max_tokens=self.max_output_tokens, system=system,
                messages=_anthropic_messages(turns), timeout=limit),
                limit, self.name)
        except anthropic.AnthropicError as exc:
            raise translate(exc, anthropic, self.name, limit) from exc
        text = "".join(getattr(block, "text", "") for block in result.content)
        usage = result.usage
        return Completion(text=text, input_tokens=getattr(usage, "input_tokens", 0) or 0,
                          output_tokens=getattr(usage, "output_tokens", 0) or 0,
                          cached_tokens=getattr(usage, "cache_read_input_tokens", 0) or 0,
                          cut_off=result.stop_reason == "max_tokens")


def _openai_messages(system: str, turns: list[Turn]) -> list[ChatCompletionMessageParam]:
    """Our turns as the openai SDK's typed message params (the stable prefix first: prefix caching)."""
    chat: list[ChatCompletionMessageParam] = [{"role": "system", "content": system}]
    for t in turns:
        if t.role == "assistant":
            chat.append({"role": "assistant", "content": t.text})
        else:
            chat.append({"role": "user", "content": t.stable + t.text})
    return chat


def _anthropic_messages(turns: list[Turn]) -> list[MessageParam]:
    """Our turns as the anthropic SDK's typed message params; the stable prefix ends in a cache breakpoint."""
    out: list[MessageParam] = []
    for t in turns:
        if t.role == "assistant":
            out.append({"role": "assistant", "content": t.text})
        elif t.stable:
            blocks: list[TextBlockParam] = [
                {"type": "text", "text": t.stable, "cache_control": {"type": "ephemeral"}}]
            if t.text:
                blocks.append({"type": "text", "text": t.text})
            out.append({"role": "user", "content": blocks})
        else:
            out.append({"role": "user", "content": t.text})
    return out
