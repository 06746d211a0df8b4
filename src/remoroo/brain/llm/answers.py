"""A model's answer as a typed response: JSON for plans, instrumentation and judgements; plain text for patches.

A patch answer is sections, one per proposal::

    ## Proposal 1: reuse the cached value
    Rationale: ...
    path/to/file.py
    <<<<<<< SEARCH
    ...
    =======
    ...
    >>>>>>> REPLACE

``GIVE UP: why`` and ``HYDRATE: path - why`` lines are its other answers. A
JSON object in the old shape (``{"proposals": [...]}``) is still taken. A
section whose blocks do not parse is dropped when others parse; when none
does, the errors go back to the model.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from remoroo.errors import PatchRejected
from remoroo.model.patch import PatchProposal, fingerprint
from remoroo.patch.text import parse_text
from remoroo.protocol.wire import (
    Hydration,
    InstrumentResponse,
    JudgeResponse,
    PatchResponse,
    PlanResponse,
    Usage,
)

Answer = type[PlanResponse] | type[PatchResponse] | type[InstrumentResponse] | type[JudgeResponse]
RESPONSES: dict[str, Answer] = {"plan": PlanResponse, "patch": PatchResponse,
                                "instrument": InstrumentResponse, "judge": JudgeResponse}
_ENGINE_FIELDS = ("protocol", "kind", "usage", "raw_outputs")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s*|\*\*\s*)(?:proposal|candidate|patch|option)\s*#?\s*(\d+)\b[^\n]*$",
                      re.I | re.M)
_GIVE_UP = re.compile(r"^\s*(?:\*\*)?give[ _-]?up(?:\*\*)?\s*:\s*(.+)$", re.I | re.M)
_HYDRATE = re.compile(r"^\s*(?:\*\*)?hydrate(?:\*\*)?\s*:\s*`?([^\s`]+)`?\s*(?:[-—–:]+\s*(.*))?$", re.I | re.M)
_RATIONALE = re.compile(r"^\s*(?:\*\*)?(?:rationale|why|idea|hypothesis)(?:\*\*)?\s*:\s*", re.I)
_MARKER = re.compile(r"^\s*(<{5,9}\s*SEARCH|`{3,}|~{3,}|--- |diff --git )")


def answer_schema(kind: str) -> dict[str, Any]:
    schema = RESPONSES[kind].model_json_schema()
    for key in _ENGINE_FIELDS:
        schema["properties"].pop(key, None)
    schema.pop("required", None)
    return schema


def extract_json(text: str) -> Any:
    """The first JSON object in ``text``: the whole text, a fenced block, or a balanced {...} span."""
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    decoder = json.JSONDecoder()
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            value, _ = decoder.raw_decode(text[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    raise ValueError("no JSON object found in the answer")


def parse_json(kind: str, text: str, usage: Usage) -> Any:
    data = extract_json(text)
    if not isinstance(data, dict):
        raise ValueError("the answer must be a JSON object")
    data = {k: v for k, v in data.items() if k not in _ENGINE_FIELDS}
    return RESPONSES[kind].model_validate({**data, "usage": usage})


def parse_patch(text: str, usage: Usage, max_candidates: int) -> PatchResponse:
    """Proposal sections (or the JSON shape) as a PatchResponse; ValueError with what to fix otherwise."""
    if "SEARCH" not in text and "+++ " not in text:
        legacy = _legacy(text, usage)
        if legacy is not None:
            return legacy
    hydrate = [Hydration(path=m.group(1), reason=(m.group(2) or "").strip()) for m in _HYDRATE.finditer(text)]
    proposals, errors = _proposals(text)
    if not proposals and hydrate:
        return PatchResponse(hydrate=hydrate[:8], usage=usage)
    if not proposals:
        give_up = _GIVE_UP.search(text)
        if give_up:
            return PatchResponse(give_up=give_up.group(1).strip(), usage=usage)
        if errors:
            raise ValueError("no proposal could be read:\n" + "\n".join(errors))
        raise ValueError("no proposal found: write each as '## Proposal N: title', a rationale, then the file path "
                         "on its own line and a <<<<<<< SEARCH / ======= / >>>>>>> REPLACE block; or answer "
                         "'GIVE UP: why'")
    return PatchResponse(proposals=unique(proposals)[:max_candidates], usage=usage)


def unique(proposals: list[PatchProposal]) -> list[PatchProposal]:
    """The proposals without near-duplicates (the same edits up to whitespace), first kept."""
    seen: set[str] = set()
    out = []
    for proposal in proposals:
        key = fingerprint(proposal)
        if key in seen:
            continue
        seen.add(key)
        out.append(proposal)
    return out


def _legacy(text: str, usage: Usage) -> PatchResponse | None:
    try:
        data = extract_json(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not ({"proposals", "give_up", "hydrate"} & set(data)):
        return None
    data = {k: v for k, v in data.items() if k not in _ENGINE_FIELDS}
    response = PatchResponse.model_validate({**data, "usage": usage})
    return response.model_copy(update={"proposals": unique(response.proposals)})


def _sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) per proposal; the whole text as one section when it has no headings."""
    heads = list(_HEADING.finditer(text))
    if not heads:
        return [("", text)]
    out = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        out.append((head.group(0).strip().strip("#* ").strip(), text[head.end():end]))
    return out


def _proposals(text: str) -> tuple[list[PatchProposal], list[str]]:
    proposals: list[PatchProposal] = []
    errors: list[str] = []
    for n, (heading, body) in enumerate(_sections(text), start=1):
        label = heading or f"proposal {n}"
        try:
            edits, diffs = parse_text(body)
        except PatchRejected as exc:
            errors.append(f"{label}: {exc}")
            continue
        if not edits and not diffs:
            if heading:
                errors.append(f"{label}: no SEARCH/REPLACE block")
            continue
        try:
            proposals.append(PatchProposal(rationale=_rationale(heading, body), edits=edits,
                                           diff=diffs[0] if diffs else None))
        except ValidationError as exc:
            errors.append(f"{label}: {exc.errors()[0]['msg']}")
    return proposals, errors


def _rationale(heading: str, body: str) -> str:
    """The heading's title and the prose before the first block (without a trailing path line)."""
    prose: list[str] = []
    for line in body.split("\n"):
        if _MARKER.match(line):
            break
        prose.append(line)
    while prose and (not prose[-1].strip() or _looks_like_path(prose[-1])):
        prose.pop()
    title = re.sub(r"^(?:proposal|candidate|patch|option)\s*#?\s*\d+\s*[:.)\-—–]*\s*", "", heading, flags=re.I)
    words = " ".join(_RATIONALE.sub("", line).strip() for line in prose if line.strip())
    return (f"{title}: {words}" if title and words else title or words)[:2000]


def _looks_like_path(line: str) -> bool:
    bare = line.strip().strip("`*:").removeprefix("File").removeprefix("Path").strip(" :`*")
    return bool(bare) and " " not in bare and ("." in bare or "/" in bare)
