"""A patch proposal as the brain sends it: search/replace edits, a unified diff, or raw model text."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Edit(BaseModel):
    """Replace the unique ``search`` lines of ``path`` with ``replace``.

    An empty ``search`` creates ``path`` (which must not exist yet).
    """

    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1)
    search: str = ""
    replace: str = ""


class PatchProposal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rationale: str = ""
    edits: list[Edit] = Field(default_factory=list)
    diff: str | None = Field(default=None, description="A unified diff, applied with git apply.")
    text: str | None = Field(default=None, description="Raw model output with SEARCH/REPLACE blocks or a diff.")


def fingerprint(proposal: PatchProposal) -> str:
    """What a proposal changes, up to whitespace: two proposals with one fingerprint are the same candidate."""
    import hashlib
    import json

    def squash(text: str | None) -> str:
        return " ".join((text or "").split())

    edits = sorted((e.path.strip(), squash(e.search), squash(e.replace)) for e in proposal.edits)
    key = json.dumps([edits, squash(proposal.diff), squash(proposal.text)])
    return hashlib.sha256(key.encode()).hexdigest()[:16]
