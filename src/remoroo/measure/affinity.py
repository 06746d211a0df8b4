"""One CPU for a timed comparison when the machine has several free ones: less noise from migrations.

Both sides of a side-by-side comparison (``loop/sidebyside.py``) run on the same
CPU, chosen after their warm-ups from what the machine did meanwhile: the CPU
time every CPU spent busy, less the warm-ups' own. Nothing is pinned when fewer
than two CPUs were free of other load (one for the measurement, one for the
engine and the rest of the machine), when the plan starts a service (a server
and its client would then share one CPU), or when a warm-up used more CPU time
than wall time (a parallel program: one CPU would hide what it does, and what
a candidate changes about it).

Linux only (``/proc/stat`` and ``sched_setaffinity``); elsewhere nothing is pinned.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from remoroo.measure.once import Measurement
from remoroo.model.plan import Plan

STAT = Path("/proc/stat")
PARALLEL = 1.2  # CPU time over wall time above which a run used more than one CPU
FREE = 0.25  # a CPU busy less than this share of the window (besides the measurement) is free


@dataclass(frozen=True)
class Pinning:
    cpus: tuple[int, ...]  # empty: not pinned
    why: str


def _cpu_times(stat: Path = STAT) -> dict[int, tuple[float, float]]:
    """Per CPU: (busy, total) jiffies since boot; empty where ``/proc/stat`` cannot be read."""
    found: dict[int, tuple[float, float]] = {}
    try:
        lines = stat.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return found
    for line in lines:
        label, _, rest = line.partition(" ")
        if not label.startswith("cpu") or not label[3:].isdigit():
            continue
        fields = [float(x) for x in rest.split()[:8]]
        if len(fields) < 5:
            continue
        idle = fields[3] + fields[4]  # idle and iowait
        total = sum(fields)
        found[int(label[3:])] = (total - idle, total)
    return found


class LoadWindow:
    """What every CPU did from its start (before the warm-ups) until :meth:`choose` is asked."""

    def __init__(self, stat: Path = STAT) -> None:
        self._stat = stat
        self._start = _cpu_times(stat)

    def choose(self, plan: Plan, warmups: list[Measurement]) -> Pinning:
        if any(c.role == "service" for c in plan.commands):
            return Pinning((), "the plan starts a service: a server and its client are not made to share a CPU")
        for run in warmups:
            wall = sum(c.duration_s for c in run.commands)
            cpu = sum(c.cpu_s for c in run.commands)
            if cpu > PARALLEL * max(wall, 1e-6):
                return Pinning((), f"a warm-up used {cpu:.3g} s of CPU in {wall:.3g} s: a parallel program")
        try:
            allowed = sorted(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            return Pinning((), "this system does not pin processes")
        end = _cpu_times(self._stat)
        share: dict[int, float] = {}
        for cpu in allowed:
            if cpu in self._start and cpu in end and end[cpu][1] > self._start[cpu][1]:
                share[cpu] = (end[cpu][0] - self._start[cpu][0]) / (end[cpu][1] - self._start[cpu][1])
        if len(share) < len(allowed) or not share:
            return Pinning((), "the CPUs' load could not be read")
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        window_s = sum(end[c][1] - self._start[c][1] for c in share) / len(share) / ticks
        own = sum(c.cpu_s for run in warmups for c in run.commands) / max(window_s, 1e-3)
        other = max(0.0, sum(share.values()) - own)  # CPUs' worth of load besides the warm-ups
        free = len(allowed) - max(0, math.ceil(other - FREE))
        if free < 2:
            return Pinning((), f"{free} of {len(allowed)} CPUs free of other load")
        best = min(allowed, key=lambda c: (round(share[c], 2), -c))  # the least busy; CPU 0 takes interrupts
        return Pinning((best,), f"CPU {best}: {free} of {len(allowed)} CPUs free of other load")
