"""Fault localisation: which sites to mutate first.

Evidence, strongest first: frames of a stack trace in the log tails (the
exception's or, on a timeout, the stack at the kill), the functions on the
call path of the measured command, and functions whose text mentions a
metric of the goal.
"""

from __future__ import annotations

import re

from remoroo.brain.protocol import PatchRequest
from remoroo.brain.search.discover import reachable
from remoroo.brain.search.mutate import Site
from remoroo.goal import Goal

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
        entry = next((t for c in request.plan.commands for t in c.run.split()[1:] if t in files), None)
        self.path_files = set(reachable(entry, files)) if entry else set(files)
        called = "\n".join(files[f] for f in self.path_files)
        self.called = set(re.findall(r"\b(\w+)\s*\(", called))
        self.words = {m.lower() for m in goal.metric_names} | {
            w.lower() for w in re.findall(r"[A-Za-z]{4,}", goal.text)}
        self.files = files

    def score(self, site: Site) -> float:
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
        return value
