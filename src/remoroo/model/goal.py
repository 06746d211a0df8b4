"""The goal of a run: words, measurable targets and semantic clauses.

A :class:`Target` is one parsed clause of the metric spec (see
:mod:`remoroo.model.spec`). Its direction comes from the comparison in the spec,
never from a model.
"""

from __future__ import annotations

import math
from typing import Literal, TypeGuard, Union

from pydantic import BaseModel, ConfigDict, Field

Op = Literal["==", "!=", "<", "<=", ">", ">=", "exists"]
Scalar = Union[bool, int, float, str]


class Literal_(BaseModel):
    """A constant right-hand side, already converted to the metric's unit."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["literal"] = "literal"
    value: Scalar
    text: str = Field(description="The right-hand side as written, e.g. '100ms'.")


class BaselineRef(BaseModel):
    """``K * baseline NAME``: a threshold known only once the baseline is measured."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["baseline"] = "baseline"
    metric: str
    factor: float = 1.0


Rhs = Union[Literal_, BaselineRef]


class Target(BaseModel):
    """One measurable clause: ``metric op rhs``."""

    model_config = ConfigDict(frozen=True)
    metric: str
    op: Op
    rhs: Rhs | None = Field(default=None, discriminator="kind")
    text: str = Field(description="The clause as the user wrote it.")

    @property
    def direction(self) -> Literal["minimize", "maximize", "match", "satisfy"]:
        if self.op in ("<", "<="):
            return "minimize"
        if self.op in (">", ">="):
            return "maximize"
        if self.op == "==":
            return "match"
        return "satisfy"

    def threshold(self, baseline: dict[str, Scalar]) -> Scalar | None:
        """The concrete right-hand side, or None if its baseline is missing."""
        if self.rhs is None:
            return None
        if isinstance(self.rhs, Literal_):
            return self.rhs.value
        base = baseline.get(self.rhs.metric)
        if not is_number(base):
            return None
        return self.rhs.factor * float(base)


class SemanticTarget(BaseModel):
    """A clause the grammar cannot measure; the plan must resolve it."""

    model_config = ConfigDict(frozen=True)
    text: str


class Goal(BaseModel):
    """What the user asked for."""

    model_config = ConfigDict(frozen=True)
    text: str
    spec: str
    targets: tuple[Target, ...] = ()
    semantic: tuple[SemanticTarget, ...] = ()

    @property
    def metric_names(self) -> list[str]:
        names: list[str] = []
        for target in self.targets:
            if target.metric not in names:
                names.append(target.metric)
        return names


def is_number(value: object) -> TypeGuard[int | float]:
    """A finite int or float (not a bool): a value arithmetic can use."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
