"""JSON Schema of every public contract (``remoroo schema NAME``)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from remoroo.errors import UserError


def contracts() -> dict[str, Any]:
    from remoroo.brain.protocol import BrainRequest, BrainResponse
    from remoroo.brain.scripted import Script
    from remoroo.case import Case
    from remoroo.patch import PatchProposal
    from remoroo.plan import Plan
    from remoroo.report import Report

    return {
        "plan": Plan, "patch": PatchProposal, "report": Report, "case": Case,
        "brain-request": BrainRequest, "brain-response": BrainResponse, "scripted-brain": Script,
    }


def schema(name: str) -> dict[str, Any]:
    known = contracts()
    if name not in known:
        raise UserError(f"Unknown contract {name!r}: choose one of {', '.join(known)}.")
    return TypeAdapter(known[name]).json_schema()
