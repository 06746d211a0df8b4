"""Benchmark cases: the ``case.json`` format of public Remoroo suites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from remoroo.errors import CaseError

ExpectedOutcome = Literal["success", "partial_success", "fail", "undetermined"]


class Case(BaseModel):
    """One benchmark case. Unknown keys are kept (``model_extra``), not rejected."""

    model_config = ConfigDict(extra="allow", frozen=True)
    case_id: str = Field(min_length=1)
    name: str = ""
    description: str = ""
    repo_path: str = Field(min_length=1, description="Relative to the folder of case.json.")
    goal: str = Field(min_length=1)
    metrics: str = Field(min_length=1, description="A metric spec, e.g. 'fib_10 == 55'.")
    expected_outcome: ExpectedOutcome = "undetermined"
    timeout_s: float = Field(default=600.0, gt=0)
    max_turns: int = Field(default=8, ge=0)
    tags: list[str] = Field(default_factory=list)

    @field_validator("expected_outcome", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


def load_case(path: Path) -> tuple[Case, Path]:
    """Read ``case.json``; return the case and its repository's absolute path."""
    path = Path(path)
    if path.is_dir():
        path = path / "case.json"
    if not path.is_file():
        raise CaseError(f"No case file at {path}: pass the path of a case.json (or of its folder).")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CaseError(f"{path} is not valid JSON ({exc}): fix the file so it parses.") from exc
    if not isinstance(raw, dict):
        raise CaseError(f"{path} must hold a JSON object with case_id, repo_path, goal and metrics.")
    try:
        case = Case.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'case'}: {err['msg']}" for err in exc.errors()
        )
        raise CaseError(f"{path} is not a valid case ({problems}): fix these keys.") from exc
    repo = (path.parent / case.repo_path).resolve()
    if not repo.is_dir():
        raise CaseError(
            f"{path}: repo_path {case.repo_path!r} does not exist (looked for {repo}): "
            "set repo_path relative to the folder of case.json."
        )
    return case, repo
