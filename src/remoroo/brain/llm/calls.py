"""One model call that survives the endpoint's hiccups, within the time the call was given.

A 429, a 5xx, a dropped connection or a stalled answer is tried again after a
backoff (0.5 s, 1 s, 2 s, ... at most 30 s), or after the ``Retry-After`` the
endpoint asked for, as long as the deadline leaves room for the wait and a
useful attempt. Anything else (a refused key, a missing model, a request too
long for the window) is raised at once: waiting would not change it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from remoroo.brain.llm.backends import Backend, Completion, Turn
from remoroo.errors import BrainTimeout, BrainUnavailable

FIRST_WAIT_S = 0.5
MAX_WAIT_S = 30.0
MIN_ATTEMPT_S = 1.0  # an attempt with less time than this is not worth making


@dataclass
class Attempts:
    """What the retries went through, for the transcript."""

    notes: list[str] = field(default_factory=list)


def complete(backend: Backend, system: str, turns: list[Turn], schema: dict[str, Any] | None,
             deadline: float | None, *, max_attempts: int = 6, attempts: Attempts | None = None,
             sleep: Callable[[float], None] = time.sleep) -> Completion:
    """The backend's completion, retried on transient failures until ``deadline`` (monotonic) or the attempts end."""
    record = attempts if attempts is not None else Attempts()
    wait = FIRST_WAIT_S
    for attempt in range(1, max_attempts + 1):
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0.05:
            raise BrainTimeout(f"{backend.name}: the time this call was given ran out"
                               + (f" after {attempt - 1} attempt(s): {record.notes[-1]}" if record.notes else ""))
        try:
            return backend.complete(system, turns, schema, left)
        except (BrainUnavailable, BrainTimeout) as exc:
            record.notes.append(f"attempt {attempt}: {exc}")
            if attempt == max_attempts:
                raise type(exc)(f"{exc} (gave up after {attempt} attempts)") from exc
            asked = exc.retry_after if isinstance(exc, BrainUnavailable) else None
            pause = min(MAX_WAIT_S, asked if asked is not None else wait)
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and pause + MIN_ATTEMPT_S > left:
                raise type(exc)(f"{exc} (no time left to try again after {attempt} attempt(s))") from exc
            sleep(pause)
            wait = min(MAX_WAIT_S, wait * 2)
    raise AssertionError("unreachable")
