"""JSON Schema of every public contract (``remoroo schema NAME``)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from remoroo.errors import UserError


def contracts() -> dict[str, Any]:
    from remoroo.brain.scripted import Script
    from remoroo.evidence.events import Event
    from remoroo.evidence.report import Report
    from remoroo.model.case import Case
    from remoroo.model.patch import PatchProposal
    from remoroo.model.plan import Plan
    from remoroo.protocol.wire import BrainRequest, BrainResponse

    return {
        "plan": Plan, "patch": PatchProposal, "report": Report, "case": Case,
        "brain-request": BrainRequest, "brain-response": BrainResponse, "scripted-brain": Script,
        "event": Event,
    }


def schema(name: str) -> dict[str, Any]:
    known = contracts()
    if name not in known:
        raise UserError(f"Unknown contract {name!r}: choose one of {', '.join(known)}.")
    return TypeAdapter(known[name]).json_schema()
