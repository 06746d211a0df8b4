"""A failure witness: the command, inputs, expected, actual, exception and stack of one failure."""

from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, Field


class Frame(BaseModel):
    file: str
    line: int
    function: str


class Witness(BaseModel):
    kind: Literal["crash", "timeout", "target", "service"]
    command: str
    cwd: str = "."
    env: dict[str, str] = Field(default_factory=dict, description="What the plan adds to the environment.")
    target: str | None = None
    expected: str | None = None
    actual: Union[bool, int, float, str, None] = None
    exception: str | None = None
    stack: list[Frame] = Field(default_factory=list, description="Innermost frame last.")
    output_tail: str = ""
    notes: list[str] = Field(default_factory=list, description="What the engine noticed (e.g. no network).")

    @property
    def where(self) -> str:
        return f"{self.stack[-1].file}:{self.stack[-1].line} in {self.stack[-1].function}" if self.stack else ""
