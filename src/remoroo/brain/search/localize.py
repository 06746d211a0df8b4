"""Fault localisation: which sites to mutate first.

Evidence, strongest first: frames of a stack trace in the log tails and
the witnesses (the exception's, a failing assertion's in pytest's short form
``path.py:12: in func``, or, on a timeout, the stack at the kill), the
functions on the call path of the measured command, the functions whose
result reaches the line that reports a metric (its data flow), and functions
named like a metric. The goal's other words only break ties: "fix the main
function" must not pull every candidate into ``main()``.

Constants: the usual knobs (epochs, learning rate, batch size, hidden size,
iterations, repeats) and names like a goal metric come before numerical
internals (eps, axis, tolerances), and plumbing (ports, seeds) comes last.
"""

from __future__ import annotations

import re

from remoroo.brain.search.discover import TEST_FILE, reachable
from remoroo.brain.search.mutate import Site
from remoroo.model.goal import Goal
from remoroo.protocol.wire import PatchRequest

_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')
_FAULT_FRAME = re.compile(r'File "([^"]+)", line (\d+) in (\S+)')  # faulthandler's format
_PYTEST_FRAME = re.compile(r"^([\w./\-]+\.py):(\d+): in (\w+)", re.M)  # pytest's short traceback
_CALL = re.compile(r"\b(\w+)\s*\(")
_ASSERTION = re.compile(r"^(?:>\s+assert\b.*|E\s+\+\s+where\b.*|E\s+assert\b.*)$", re.M)
_BUILTINS = {"assert", "len", "sum", "list", "dict", "set", "tuple", "sorted", "str", "int", "float", "abs", "round",
             "isinstance", "all", "any", "min", "max", "repr", "approx", "where"}


class Localizer:
    def __init__(self, request: PatchRequest, goal: Goal) -> None:
        files = {v.path: v.content for v in request.context.files if v.content is not None}
        self.frames: list[tuple[str, int, str]] = []
        texts = list(request.log_tails.values()) + [w.output_tail for w in request.witnesses]
        for text in texts:
            for regex in (_FRAME, _FAULT_FRAME, _PYTEST_FRAME):
                for path, line, func in regex.findall(text):
                    rel = next((f for f in files if path == f or path.endswith("/" + f)), None)
                    if rel is not None and not TEST_FILE.search(rel):
                        self.frames.append((rel, int(line), func))
        # a failing assertion names the functions it checked ('>   assert mean([2, 4, 6]) == 4', 'where 48 = mean(..)')
        self.suspects: set[str] = set()
        for text in texts:
            for line in _ASSERTION.findall(text):
                self.suspects |= set(_CALL.findall(line)) - _BUILTINS
        for witness in request.witnesses:
            for frame in witness.stack:
                rel = next((f for f in files if frame.file == f or frame.file.endswith("/" + f)), None)
                if rel is not None and not TEST_FILE.search(rel):
                    self.frames.append((rel, frame.line, frame.function))
        entries = [t for c in request.plan.commands for t in c.run.split()[1:] if t in files]
        self.path_files = {f for e in entries for f in reachable(e, files)} if entries else set(files)
        called = "\n".join(files[f] for f in self.path_files)
        self.called = set(re.findall(r"\b(\w+)\s*\(", called))
        self.metrics = {m.lower() for m in goal.metric_names}
        self.words = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", goal.text)} - self.metrics
        self.flow = _data_flow(goal.metric_names, [files[f] for f in self.path_files])
        self.files = files

    def evidence(self, site: Site) -> bool:
        """Whether a stack trace or a failing test points into the site's function."""
        name = site.function.split(".")[-1]
        return bool(name) and (name in self.suspects or
                               any(path == site.path and func == name for path, _, func in self.frames))

    def score(self, site: Site) -> float:
        if site.kind == "constant" and not site.function:
            return self._module_constant(site)
        value = -30.0 if site.speculative else 0.0  # after the plain repairs of the same function
        for path, line, func in self.frames:
            if path == site.path:
                value += 20.0
                if func == site.function.split(".")[-1]:
                    value += 100.0 + 50.0 / (1 + abs(line - site.line))
        if site.function and site.function.split(".")[-1] in self.suspects:
            value += 60.0  # a failing assertion checked what it returns
        if site.path in self.path_files:
            value += 5.0
            if site.function and site.function.split(".")[-1] in self.called:
                value += 10.0
        if site.function and site.function.split(".")[-1] in self.flow:
            value += 8.0  # its result reaches the line that reports a metric
        lowered = site.function.lower() + " " + site.path.lower() + " " + site.key.lower()
        value += sum(3.0 for w in self.metrics if w in lowered)
        value += sum(0.01 for w in self.words if w in lowered)  # the goal's other words: a tie-breaker only
        if site.kind == "constant":
            value += _knob_bonus(site.key.rsplit(":", 1)[-1])
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
        return best + sum(3.0 for w in self.metrics if w in name.lower()) + _knob_bonus(name) + sum(
            0.01 for w in self.words if w in name.lower())


_PLUMBING = re.compile(r"port|host|seed|verbose|verbosity|debug|workers|timeout|log", re.I)
_KNOBS = re.compile(r"epoch|(^|_)lr($|_)|learning_rate|rate|batch|hidden|iteration|iters?($|_)|n_iter|repeat|steps?$|"
                    r"rounds|estimators|depth|layers|units|neurons|momentum|decay|warmup|patience|threshold|"
                    r"max_len|window|k$|neighbors|clusters|trees|size", re.I)
_INTERNALS = re.compile(r"eps|epsilon|axis|dim|keepdims|ddof|tol|dtype|min_value|clip|offset|index|idx", re.I)


def _knob_bonus(name: str) -> float:
    """Hyperparameters first, numerical internals after them, plumbing last."""
    if _PLUMBING.search(name):
        return -20.0  # ports, hosts, seeds and verbosity are plumbing, not the fault
    if _INTERNALS.search(name) and not _KNOBS.search(name):
        return -12.0
    return 12.0 if _KNOBS.search(name) else 0.0


def _data_flow(metrics: list[str], texts: list[str]) -> set[str]:
    """Functions called on a line that reports a metric, or that assigns a variable such a line reads."""
    names: set[str] = set()
    for text in texts:
        lines = text.splitlines()
        for metric in metrics:
            for i, line in enumerate(lines):
                if metric not in line or not re.search(r"print|emit|dump|write|log|return|\[|:", line):
                    continue
                names |= set(_CALL.findall(line))
                for var in set(re.findall(r"\{(\w+)", line)) | set(re.findall(r",\s*(\w+)\s*\)", line)):
                    for earlier in lines[max(0, i - 30):i]:
                        if re.match(rf"\s*{re.escape(var)}\s*=", earlier):
                            names |= set(_CALL.findall(earlier))
    return names - {"print", "str", "int", "float", "round", "len", "format", "emit", "dump", "dumps", "open",
                    "write", "range"}
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
