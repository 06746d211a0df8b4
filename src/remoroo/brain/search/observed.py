"""Plan from what the commands showed: metrics located in scouting runs, targets read from the goal's words.

When reading the code does not say where a metric is reported, the brain
asks the engine to scout its best candidates (:func:`to_scout`); the answer
carries every labelled number each run printed or wrote. :func:`from_scouting`
turns the best-named one (:mod:`remoroo.model.names`) into instrumentation: a
stdout pattern built from the line as printed, or a key of the file written.
:func:`resolve_semantic` turns semantic clauses into the targets the goal
states in words, so the user sees them in the plan.
"""

from __future__ import annotations

import re

from remoroo.brain.search.discover import NUMBER, Ranked
from remoroo.model.names import match, words
from remoroo.model.plan import Instrument, ResolvedTarget, Unmeasurable
from remoroo.protocol.wire import GoalView, ObservedValue, Scouted

FLOOR = 0.6


def to_scout(candidates: list[Ranked]) -> list[str]:
    """The commands worth one scouting run: the best-ranked that end on their own (no server alone)."""
    runs = [c.run for c in candidates if not c.service and c.score > -5.0]
    return runs[:3]


_LAUNCH = re.compile(r"No module named|ModuleNotFoundError|can't open file|No such file or directory|command not found|"
                     r"No rule to make target|ImportError: attempted relative import")


def usable_run(scout: Scouted | None) -> bool:
    """A command worth planning: not seen yet, or seen to start (waiting for input or failing to launch is not)."""
    if scout is None:
        return True
    return not scout.waits_for_input and not _LAUNCH.search(scout.error)


def scouted_for(cand: Ranked, scouted: list[Scouted]) -> Scouted | None:
    return next((s for s in scouted if s.run == cand.run), None)


def from_scouting(metric: str, scout: Scouted, command_name: str) -> Instrument | None:
    """Where a scouting run showed ``metric``: the best-named value it printed on stdout or wrote to a file."""
    best: tuple[float, int, ObservedValue] | None = None
    for order, value in enumerate(scout.values):
        if isinstance(value.value, bool) and not metric.startswith("tests_"):
            continue
        score = match(metric, value.label)
        if score < FLOOR or not _units_agree(metric, value):
            continue
        score += {"file": 0.05, "stdout": 0.02, "stderr": 0.0}[value.source]  # written, then printed, then logged
        if best is None or (score, -order) > (best[0], -best[1]):
            best = (score, order, value)
    if best is None:
        return None
    found = best[2]
    if found.source == "file" and found.path and found.key:
        if found.path.endswith(".xml"):
            probe = "tests_passed" if found.key == "tests_passed" else "tests_failed"
            return Instrument(metric=metric, source="probe", probe=probe, command=command_name, path=found.path)
        return Instrument(metric=metric, source="json_artifact", command=command_name, path=found.path,
                          key=found.key)
    if found.source in ("stdout", "stderr") and found.line is not None:
        return Instrument(metric=metric, source="stdout", command=command_name, pattern=_pattern(found),
                          stream="stderr" if found.source == "stderr" else "stdout")
    return None


def _units_agree(metric: str, value: ObservedValue) -> bool:
    """``latency_ms`` is never read from a value printed in seconds; a percentage is not a fraction."""
    _, wanted = words(metric)
    shown = (value.unit or "").lower() or None
    if shown == "%":
        return wanted == "%" or not re.search(r"acc|f1|precision|recall|auc|error", metric, re.I)
    if wanted and shown and shown in ("s", "ms", "us", "ns", "mb", "kb", "gb", "b", "min") and shown != wanted:
        return False
    return True


def _pattern(found: ObservedValue) -> str:
    """A regex for the line as printed: its label, the separator, the value (the first group)."""
    label = re.escape(found.label).replace(r"\ ", r"\s+")
    return rf"(?<![\w.]){label}\s*[:=]?\s*{NUMBER}"


def resolve_semantic(goal: GoalView, spec_metrics: list[str]) -> tuple[list[ResolvedTarget], list[Unmeasurable]]:
    """Semantic clauses -> the targets the goal's words state (each clause to the stated targets that share its
    subject; left-over stated targets to a clause that got none); a clause with none is unmeasurable."""
    stated = [s for s in goal.stated if s.spec.split()[0] not in spec_metrics]
    resolved: list[ResolvedTarget] = []
    unmeasurable: list[Unmeasurable] = []
    taken: set[str] = set()
    assigned: dict[str, list[str]] = {}
    for clause in goal.semantic:
        topic = _topics(clause)
        mine = [s.spec for s in stated if s.spec not in taken and _topics(s.phrase + " " + s.spec) & topic]
        taken.update(mine)
        assigned[clause] = mine
    left = [s.spec for s in stated if s.spec not in taken]
    for clause in goal.semantic:
        if not assigned[clause] and left:
            assigned[clause], left = left, []
        if assigned[clause]:
            resolved.append(ResolvedTarget(clause=clause, spec=", ".join(assigned[clause])))
        else:
            unmeasurable.append(Unmeasurable(clause=clause, reason=(
                "the offline search brain cannot turn this clause into a measurable target and the goal states "
                "none in words; state it as NAME OP VALUE")))
    return resolved, unmeasurable


_TOPICS = {"time": ("time", "fast", "slow", "quick", "speed", "runtime", "second", "latency", "duration", "run"),
           "memory": ("memory", "ram", "rss", "heap", "mb", "gb", "kb"),
           "quality": ("accuracy", "acc", "f1", "precision", "recall", "score", "loss", "error", "auc", "correct")}


def _topics(text: str) -> set[str]:
    low = text.lower()
    return {topic for topic, cues in _TOPICS.items() if any(cue in low for cue in cues)}
