"""Budgets: turns, wall time, stagnation, tokens and cost, checked in one place before each expensive step.

The loop asks :meth:`Budgets.stop_reason` before every turn; the brain client
calls :meth:`Budgets.check_spend` before every model call, which raises
:class:`~remoroo.errors.BudgetExceeded` (an ``EngineError``: the run ends FAIL
with its report).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from remoroo.errors import BudgetExceeded


@dataclass(frozen=True)
class Budgets:
    max_turns: int = 10
    timeout_s: float = 1800.0
    stagnation_turns: int = 3
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float:
        """The wall-clock budget's end, on ``time.monotonic``'s scale."""
        return self.started + self.timeout_s

    def remaining_s(self) -> float:
        return self.deadline - time.monotonic()

    def time_exhausted(self) -> bool:
        return self.remaining_s() <= 0

    def stagnated(self, stagnant: int) -> bool:
        return stagnant >= self.stagnation_turns

    def stop_reason(self, turns_run: int) -> str | None:
        """Why no further turn may start (turns or wall time), or None."""
        if turns_run >= self.max_turns:
            return f"turn budget ({self.max_turns}) used up"
        if self.time_exhausted():
            return f"time budget ({self.timeout_s:g}s) used up"
        return None

    def tokens_left(self, tokens_spent: int) -> int | None:
        return None if self.max_tokens is None else self.max_tokens - tokens_spent

    def check_spend(self, tokens: int, cost_usd: float) -> None:
        """Raise :class:`BudgetExceeded` when the token or cost budget is used up."""
        if self.max_tokens is not None and tokens >= self.max_tokens:
            raise BudgetExceeded(f"token budget used up: {tokens} of {self.max_tokens} tokens spent")
        if self.max_cost_usd is not None and cost_usd >= self.max_cost_usd:
            raise BudgetExceeded(f"cost budget used up: ${cost_usd:.4f} of ${self.max_cost_usd:.4f} spent")
