"""Fault localisation: which sites to mutate first.

Evidence, strongest first: frames of a stack trace in the log tails (the
exception's or, on a timeout, the stack at the kill), the functions on the
call path of the measured command, and functions whose text mentions a
metric of the goal.
"""

from __future__ import annotations

import re

from remoroo.brain.search.discover import reachable
from remoroo.brain.search.mutate import Site
from remoroo.model.goal import Goal
from remoroo.protocol.wire import PatchRequest

_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')
_FAULT_FRAME = re.compile(r'File "([^"]+)", line (\d+) in (\S+)')  # faulthandler's format


class Localizer:
    def __init__(self, request: PatchRequest, goal: Goal) -> None:
        files = {v.path: v.content for v in request.context.files if v.content is not None}
        self.frames: list[tuple[str, int, str]] = []
        for text in request.log_tails.values():
            for regex in (_FRAME, _FAULT_FRAME):
                for path, line, func in regex.findall(text):
                    rel = next((f for f in files if path == f or path.endswith("/" + f)), None)
                    if rel is not None:
                        self.frames.append((rel, int(line), func))
        entries = [t for c in request.plan.commands for t in c.run.split()[1:] if t in files]
        self.path_files = {f for e in entries for f in reachable(e, files)} if entries else set(files)
        called = "\n".join(files[f] for f in self.path_files)
        self.called = set(re.findall(r"\b(\w+)\s*\(", called))
        self.words = {m.lower() for m in goal.metric_names} | {
            w.lower() for w in re.findall(r"[A-Za-z]{4,}", goal.text)}
        self.files = files

    def score(self, site: Site) -> float:
        if site.kind == "constant" and not site.function:
            return self._module_constant(site)
        value = 0.0
        for path, line, func in self.frames:
            if path == site.path:
                value += 20.0
                if func == site.function.split(".")[-1]:
                    value += 100.0 + 50.0 / (1 + abs(line - site.line))
        if site.path in self.path_files:
            value += 5.0
            if site.function and site.function.split(".")[-1] in self.called:
                value += 10.0
        lowered = site.function.lower() + " " + site.path.lower() + " " + site.key.lower()
        value += sum(3.0 for w in self.words if w in lowered)
        if site.kind == "constant" and _PLUMBING.search(site.key.rsplit(":", 1)[-1]):
            value -= 20.0  # ports, hosts, seeds and verbosity are plumbing, not the fault
        return value

    def _module_constant(self, site: Site) -> float:
        """A module-level constant ranks with the best function that reads it."""
        name = site.key.rsplit(":", 1)[-1]
        text = self.files.get(site.path, "")
        best = 5.0 if site.path in self.path_files else 0.0
        for func, body in _functions(text):
            if re.search(rf"\b{re.escape(name)}\b", body):
                proxy = Site(site.path, "constant", site.line, func, site.description, site.node, key=site.key)
                best = max(best, self.score(proxy))
        return best + sum(3.0 for w in self.words if w in name.lower())


_PLUMBING = re.compile(r"port|host|seed|verbose|verbosity|debug|workers|timeout|log", re.I)
_DEF = re.compile(r"^([ \t]*)def (\w+)", re.M)


def _functions(text: str) -> list[tuple[str, str]]:
    """(name, body) of each function, by indentation."""
    found: list[tuple[str, str]] = []
    matches = list(_DEF.finditer(text))
    for i, match in enumerate(matches):
        indent = len(match.group(1))
        end = len(text)
        for later in matches[i + 1:]:
            if len(later.group(1)) <= indent:
                end = later.start()
                break
        found.append((match.group(2), text[match.start():end]))
    return found
