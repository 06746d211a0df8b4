"""Brains: everything that proposes plans and patches, behind one protocol."""

from __future__ import annotations

from pathlib import Path

from remoroo.brain.protocol import BrainClient, in_process
from remoroo.errors import UserError


def make_client(spec: str) -> BrainClient:
    """Build the client for ``--brain``: ``search`` or ``scripted:FILE`` (more kinds follow)."""
    if spec == "search":
        from remoroo.brain.search import SearchBrain

        return BrainClient(in_process(SearchBrain()), name="search")
    if spec.startswith("scripted:"):
        from remoroo.brain.scripted import ScriptedBrain, load_script

        path = Path(spec.split(":", 1)[1])
        return BrainClient(in_process(ScriptedBrain(load_script(path))), name=f"scripted:{path.name}")
    if spec == "llm" or spec.startswith(("http://", "https://")):
        raise UserError(
            f"The brain {spec!r} is not available in this version: use --brain scripted:FILE "
            "(a recorded script, see the README)."
        )
    raise UserError(f"Unknown brain {spec!r}: use scripted:FILE, search, llm or http://HOST:PORT.")
