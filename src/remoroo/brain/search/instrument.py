"""Instrumentation without a model: report a metric where the code computes it.

For each metric the baseline could not read, find an assignment to a
variable of that exact name in a non-protected Python file and add
``remoroo.emit("NAME", NAME)`` right after it: the value is the program's
own state, never a constant. When no such site exists the metric is
declared unmeasurable, with the reason.
"""

from __future__ import annotations

import re

from remoroo.model.patch import Edit, PatchProposal
from remoroo.protocol.wire import InstrumentRequest, InstrumentResponse


def instrument_metrics(request: InstrumentRequest) -> InstrumentResponse:
    edits: list[Edit] = []
    missing: list[str] = []
    for metric in request.missing:
        site = _site(metric, request)
        if site is None:
            missing.append(metric)
            continue
        path, line = site
        indent = line[: len(line) - len(line.lstrip())]
        edits.append(Edit(path=path, search=line + "\n",
                          replace=f"{line}\n{indent}import remoroo\n{indent}remoroo.emit({metric!r}, {metric})\n"))
    if missing:
        return InstrumentResponse(unmeasurable=(
            f"no variable named {', '.join(missing)} is computed in the files shown, so the search brain "
            "cannot report it from program state; emit it with remoroo.emit or print NAME=value"))
    return InstrumentResponse(proposal=PatchProposal(rationale="report the metrics where they are computed",
                                                     edits=edits))


def _site(metric: str, request: InstrumentRequest) -> tuple[str, str] | None:
    pattern = re.compile(rf"^[ \t]*{re.escape(metric)}\s*=(?!=).*$", re.M)
    for view in request.context.files:
        if view.content is None or not view.path.endswith(".py") or view.protected:
            continue
        found = [m.group(0) for m in pattern.finditer(view.content)]
        if found and view.content.count(found[-1] + "\n") == 1:
            return view.path, found[-1]
    return None
