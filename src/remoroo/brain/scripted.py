"""The scripted brain: replays recorded responses, for tests, demos and reproductions.

File format (JSON)::

    {
      "format": "remoroo.scripted/1",
      "plans":   [PLAN, ...],        # plans[k] answers the k-th plan request (0 = first, then replans)
      "patches": [PROPOSAL, ...],    # patches[n-1] answers turn n
      "instrument": PROPOSAL,        # optional: answers an instrument request
      "judge": "text"                # optional: advisory reasoning for the report
    }

Any PLAN or PROPOSAL may be wrapped as ``{"hydrate": ["path", ...], "then": ...}``:
the brain first asks for those files, and answers ``then`` once the request
carries every one of them in ``hydrated`` (a path that cannot be read keeps
it asking, so the engine's hydration limit ends the run).

A PLAN is the JSON of :class:`~remoroo.model.plan.Plan`; a PROPOSAL the JSON of
:class:`~remoroo.patch.apply.PatchProposal` (``edits``, ``diff`` or ``text``), a
list of proposals (a batch: the engine keeps the best), or
``{"give_up": "reason"}``. Past the end of ``plans`` the last plan is
repeated; past the end of ``patches`` the brain gives up. The brain is
stateless: it picks its answer from the request's ``replan`` and ``turn``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from remoroo.errors import UserError
from remoroo.model.patch import PatchProposal
from remoroo.model.plan import Plan
from remoroo.protocol.wire import (
    AnyRequest,
    AnyResponse,
    Hydration,
    InstrumentRequest,
    InstrumentResponse,
    JudgeRequest,
    JudgeResponse,
    PatchResponse,
    PlanRequest,
    PlanResponse,
)


class GiveUp(BaseModel):
    model_config = ConfigDict(extra="forbid")
    give_up: str


class NeedsPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hydrate: list[str] = Field(min_length=1)
    then: Plan | GiveUp


class NeedsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hydrate: list[str] = Field(min_length=1)
    then: GiveUp | PatchProposal | list[PatchProposal]


class Script(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["remoroo.scripted/1"] = "remoroo.scripted/1"
    plans: list[NeedsPlan | Plan | GiveUp] = Field(min_length=1)
    patches: list[NeedsPatch | GiveUp | PatchProposal | list[PatchProposal]] = Field(default_factory=list)
    instrument: PatchProposal | None = Field(default=None, description="Answer to an instrument request.")
    judge: str = Field(default="", description="Advisory reasoning for the report.")


def load_script(path: Path) -> Script:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"No scripted brain file at {path}: pass --brain scripted:PATH to an existing file.") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"The scripted brain file {path} is not valid JSON ({exc}): fix it.") from exc
    try:
        return Script.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise UserError(
            f"The scripted brain file {path} is malformed at {loc or 'top level'}: {first['msg']} "
            "(see 'Scripted brain' in the README for the format)."
        ) from exc


class ScriptedBrain:
    def __init__(self, script: Script) -> None:
        self.script = script

    def respond(self, request: AnyRequest) -> AnyResponse:
        if isinstance(request, JudgeRequest):
            return JudgeResponse(reasoning=self.script.judge)
        if isinstance(request, InstrumentRequest):
            if self.script.instrument is None:
                return InstrumentResponse(give_up="the script has no instrumentation patch")
            return InstrumentResponse(proposal=self.script.instrument)
        if isinstance(request, PlanRequest):
            entry = self.script.plans[min(request.replan, len(self.script.plans) - 1)]
            if isinstance(entry, NeedsPlan):
                missing = _missing(entry.hydrate, request)
                if missing:
                    return PlanResponse(hydrate=missing)
                entry = entry.then
            if isinstance(entry, GiveUp):
                return PlanResponse(give_up=entry.give_up)
            return PlanResponse(plan=entry)
        if request.repair is not None:
            return PatchResponse(give_up="a script has no repairs: its next patch is for the next turn")
        if request.turn > len(self.script.patches):
            return PatchResponse(give_up=f"the script has only {len(self.script.patches)} patches")
        item = self.script.patches[request.turn - 1]
        if isinstance(item, NeedsPatch):
            missing = _missing(item.hydrate, request)
            if missing:
                return PatchResponse(hydrate=missing)
            item = item.then
        if isinstance(item, GiveUp):
            return PatchResponse(give_up=item.give_up)
        return PatchResponse(proposals=item if isinstance(item, list) else [item])


def _missing(paths: list[str], request: AnyRequest) -> list[Hydration]:
    have = {f.path for f in request.hydrated}
    return [Hydration(path=p, reason="the script asks for it") for p in paths if p not in have]
