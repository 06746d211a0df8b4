"""Budgets, checked before each expensive step (a brain call, a measurement)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Budget:
    max_turns: int
    timeout_s: float
    stagnation_turns: int
    started: float = field(default_factory=time.monotonic)
    stagnant: int = 0

    @property
    def deadline(self) -> float:
        return self.started + self.timeout_s

    def remaining_s(self) -> float:
        return self.deadline - time.monotonic()

    def time_exhausted(self) -> bool:
        return self.remaining_s() <= 0

    def stagnated(self) -> bool:
        return self.stagnant >= self.stagnation_turns
