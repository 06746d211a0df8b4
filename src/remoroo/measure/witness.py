"""Failure witnesses: a small deterministic reproduction of each crash, timeout or unmet target.

Each witness names the exact command, its working folder and environment
delta, what was expected and what happened, and the exception with its
stack (module path and line); for a timeout, the stack of every thread at
the kill. It is written as ``witnesses/NN-kind.json`` with a runnable
``repro.sh``, sent to the brain on the next turn, and listed in the report.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from remoroo.exec.sandbox import TREE as SANDBOX_TREE
from remoroo.measure.once import Measurement
from remoroo.model.decide import Noise, evaluate
from remoroo.model.goal import Goal, Scalar
from remoroo.model.plan import Plan
from remoroo.model.witness import Frame, Witness

_TRACE_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')
_DUMP_FRAME = re.compile(r'File "([^"]+)", line (\d+) in (\S+)')
_EXCEPTION = re.compile(r"^(\w[\w.]*(?:Error|Exception|Exit|Interrupt|Warning)|AssertionError)\b.*$", re.M)


def collect(measurement: Measurement, plan: Plan, goal: Goal, baseline: dict[str, Scalar], noise: Noise,
            root: Path) -> list[Witness]:
    witnesses: list[Witness] = []
    for run in measurement.commands:
        cmd = next((c for c in plan.commands if c.name == run.name), None)
        base = {"command": run.run, "cwd": cmd.cwd if cmd else ".", "env": dict(cmd.env) if cmd else {},
                "notes": list(run.notes)}
        stderr = relative(run.stderr_tail, root)

        if run.failure and run.role == "job":
            witnesses.append(Witness(kind="timeout" if run.timed_out else "crash", **base,
                                     expected="finishes cleanly", actual=run.failure, output_tail=stderr[-2000:]))
        elif run.failure:
            witnesses.append(Witness(kind="service", **base, expected="ready and running", actual=run.failure,
                                     output_tail=stderr[-2000:]))
        elif run.timed_out:
            limit = f"{cmd.timeout_s:g}s" if cmd else "its timeout"
            witnesses.append(Witness(kind="timeout", **base, expected=f"finishes within {limit}",
                                     actual="killed at the timeout", stack=_frames(stderr, _DUMP_FRAME),
                                     output_tail=stderr[-2000:]))
        elif run.exit_code not in (0, None) and run.role == "job":
            found = _EXCEPTION.findall(stderr)
            exc_line = next((line for line in reversed(stderr.splitlines()) if _EXCEPTION.match(line)), None)
            witnesses.append(Witness(kind="crash", **base, expected="exit code 0", actual=run.exit_code,
                                     exception=exc_line or (found[-1] if found else None),
                                     stack=_frames(stderr, _TRACE_FRAME), output_tail=stderr[-2000:]))
    for status in evaluate(goal, measurement.metrics, baseline, noise):
        if status.met:
            continue
        inst = plan.instrument_for(status.metric)
        cmd = next((c for c in plan.commands if inst and c.name == inst.command), plan.commands[-1])
        witnesses.append(Witness(kind="target", command=cmd.run, cwd=cmd.cwd, env=dict(cmd.env), target=status.text,
                                 expected=status.text, actual=status.value if status.value is not None else
                                 measurement.missing.get(status.metric, "no value")))
    return witnesses


def relative(text: str, tree: Path) -> str:
    """Paths of the tree as the repository names them: the sandbox's tree path and the host's both go."""
    return text.replace(str(tree) + "/", "").replace(SANDBOX_TREE + "/", "")


def _frames(text: str, pattern: re.Pattern[str]) -> list[Frame]:
    frames = [Frame(file=f, line=int(n), function=fn) for f, n, fn in pattern.findall(text)]
    if pattern is _DUMP_FRAME:
        frames.reverse()  # faulthandler prints the innermost frame first
    return [f for f in frames if not f.file.startswith(("<", "/usr/lib", "/usr/local/lib"))] or frames


def write(witnesses: list[Witness], folder: Path, repo: Path) -> list[str]:
    """``NN-kind.json`` and ``NN-kind.repro.sh`` per witness; returns the json paths (relative)."""
    if not witnesses:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for n, witness in enumerate(witnesses, start=1):
        stem = f"{n:02d}-{witness.kind}"
        (folder / f"{stem}.json").write_text(witness.model_dump_json(indent=2), encoding="utf-8")
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in witness.env.items())
        script = (f"#!/bin/sh\n# remoroo witness: {witness.kind}"
                  f"{' for ' + witness.target if witness.target else ''}\n"
                  f"# expected: {witness.expected}\n# actual: {witness.actual}\n"
                  f"# usage: repro.sh [CHECKOUT]  (default: the repository; apply final_patch.diff first)\n"
                  f"cd \"${{1:-{repo}}}\"/{shlex.quote(witness.cwd)} || exit 2\n"
                  f"{env + ' ' if env else ''}{witness.command}\n")
        repro = folder / f"{stem}.repro.sh"
        repro.write_text(script, encoding="utf-8")
        repro.chmod(0o755)
        written.append(f"{folder.name}/{stem}.json")
    return written
