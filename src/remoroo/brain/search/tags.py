"""The search brain's state tags: what a candidate tried, carried in its rationale.

The brain keeps no state, so every candidate's rationale starts with a tag the
next request's history gives back::

    tag      := "[m:" ID "]"                 a repair (mutation) by its site id
              | "[t:" KEY "=" VALUE "]"      a constant tuned to VALUE
    ID       := [0-9a-f]+
    KEY      := a site key, percent-encoded (so '=', ']', '%' and spaces never appear raw)
    VALUE    := a float as ``repr`` writes it (inf, -inf and nan included)

:func:`read_tag` never raises: a rationale that is not a tag (another brain's,
an edited one, a torn one) is simply not a tag.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

_TAG = re.compile(r"^\[(m|t):([^\]\s]+)\]")
_SAFE = "/:._-"  # a key stays readable: paths, scopes and names keep their own characters


@dataclass(frozen=True)
class Mutation:
    site_id: str


@dataclass(frozen=True)
class Tuning:
    key: str
    value: float


def mutation_tag(site_id: str) -> str:
    return f"[m:{site_id}]"


def tuning_tag(key: str, value: float) -> str:
    return f"[t:{quote(key, safe=_SAFE)}={float(value)!r}]"


def read_tag(rationale: str) -> Mutation | Tuning | None:
    match = _TAG.match(rationale or "")
    if match is None:
        return None
    kind, body = match.groups()
    if kind == "m":
        return Mutation(body) if re.fullmatch(r"[0-9a-f]+", body) else None
    key, sep, raw = body.rpartition("=")
    if not sep or not key:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    if not math.isfinite(value) and raw not in ("inf", "-inf", "nan"):
        return None
    return Tuning(unquote(key), value)
