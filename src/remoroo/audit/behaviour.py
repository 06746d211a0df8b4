"""Behaviour checks after measuring: the program still does the work the baseline did.

For speed and memory goals the program's output is part of its behaviour:
each job's stdout, minus timing lines and values that varied between the
baseline's repeats, must equal the baseline's. A candidate that stops reading
a file the baseline read (or reads another instead) computes its metric on
something else. Both are checked on every candidate and again at final
verification, in a fresh sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from remoroo.audit.findings import AuditFinding, passed
from remoroo.audit.paths import is_code
from remoroo.model.goal import Goal
from remoroo.model.metrics import is_memory, is_timing

MAX_LINES = 5000
VARIES = "<varies between runs>"
_TIMING_WORDS = re.compile(
    r"\b(time|times|timing|elapsed|took|duration|runtime|latency|seconds?|secs?|ms|us|ns|it/s|per second|"
    r"throughput|speed|fps|qps|rps|ops/s|memory|rss|mb|kb|gb|mib|kib|gib|bytes|date|now|started|finished|"
    r"pid|timestamp)\b|\b\w+_(s|ms|us|ns|sec|secs|seconds|mb|kb|bytes)\s*[=:]|\d\s*(s|ms|us|µs|ns|sec)\b",
    re.IGNORECASE)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_WHEN = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?")


def speed_goal(goal: Goal) -> bool:
    """Every target is a duration or memory figure: the output must not change, only its cost."""
    names = goal.metric_names
    return bool(names) and all(is_timing(m) or is_memory(m) or m in ("cpu_s",) for m in names)


def normalize(text: str, skip: Sequence[str] = ()) -> list[str]:
    """The lines of an output that are about the work, not its cost: timing lines (and lines matching ``skip``,
    the patterns of timing metrics) dropped, addresses and dates masked."""
    lines: list[str] = []
    patterns = [re.compile(p) for p in skip]
    for raw in text.splitlines()[:MAX_LINES]:
        line = raw.rstrip()
        if not line.strip() or _TIMING_WORDS.search(line) or any(p.search(line) for p in patterns):
            continue
        lines.append(_WHEN.sub("<when>", _ADDRESS.sub("0x…", line)))
    return lines


def merge(variants: Sequence[Sequence[str]]) -> list[str]:
    """The repeats' outputs as one: a line that differs between repeats becomes a wildcard."""
    if not variants:
        return []
    first = list(variants[0])
    if any(len(v) != len(first) for v in variants):
        return [VARIES] if len({tuple(v) for v in variants}) > 1 else first
    return [line if all(v[i] == line for v in variants) else VARIES for i, line in enumerate(first)]


def check_output(baseline: Mapping[str, Sequence[str]], candidate: Mapping[str, Sequence[str]]) -> AuditFinding:
    """Each command's output equals the baseline's, line for line (wildcards match any line)."""
    changed: dict[str, dict[str, object]] = {}
    for name, expected in baseline.items():
        if list(expected) == [VARIES]:
            continue
        got = list(candidate.get(name, []))
        if len(got) != len(expected):
            changed[name] = {"baseline_lines": len(expected), "candidate_lines": len(got),
                             "first_difference": _first(expected, got)}
            continue
        for i, (want, have) in enumerate(zip(expected, got, strict=True)):
            if want != VARIES and want != have:
                changed[name] = {"line": i + 1, "baseline": want, "candidate": have}
                break
    if changed:
        listed = "; ".join(_describe(n, d) for n, d in changed.items())
        return AuditFinding(rule="behaviour_preservation", passed=False,
                            reason=f"the program's output changed for a speed or memory goal ({listed})",
                            evidence={"changed": changed})
    return passed("behaviour_preservation", f"the output of {len(baseline)} command(s) equals the baseline's")


def check_inputs(baseline: Sequence[str], candidate: Sequence[str], written: Sequence[str] = ()) -> AuditFinding:
    """The candidate still reads every data file the baseline read."""
    dropped = sorted(p for p in set(baseline) - set(candidate) - set(written) if not is_code(p))
    if dropped:
        extra = sorted(set(candidate) - set(baseline))
        also = f"; it read {', '.join(extra[:5])} instead" if extra else ""
        return AuditFinding(rule="provenance", passed=False,
                            reason=f"the program no longer reads {', '.join(dropped[:5])}, which the baseline "
                                   f"read: the metric would be computed on something else{also}",
                            evidence={"dropped": dropped, "new": extra,
                                      "hits": [{"file": p, "line": 1, "code": "input not read"} for p in dropped]})
    return passed("provenance", f"every one of the baseline's {len(baseline)} input file(s) is still read")


def _first(expected: Sequence[str], got: Sequence[str]) -> dict[str, object]:
    for i, (want, have) in enumerate(zip(expected, got, strict=False)):
        if want != VARIES and want != have:
            return {"line": i + 1, "baseline": want, "candidate": have}
    i = min(len(expected), len(got))
    return {"line": i + 1, "baseline": expected[i] if i < len(expected) else "(end)",
            "candidate": got[i] if i < len(got) else "(end)"}


def _describe(name: str, detail: Mapping[str, object]) -> str:
    first = detail.get("first_difference")
    if isinstance(first, dict):
        return (f"{name}: {detail['baseline_lines']} line(s) at baseline, {detail['candidate_lines']} now; "
                f"line {first['line']}: {str(first['baseline'])[:80]!r} became {str(first['candidate'])[:80]!r}")
    return f"{name} line {detail['line']}: {str(detail['baseline'])[:80]!r} became {str(detail['candidate'])[:80]!r}"


def check_sites(baseline: Mapping[str, Sequence[str]], candidate: Mapping[str, Sequence[str]],
                metrics: Sequence[str]) -> AuditFinding:
    """Each emitted metric comes from a site (file:function) that emitted it at baseline."""
    strangers = {m: sorted(set(candidate.get(m, [])) - set(baseline.get(m, []))) for m in metrics
                 if baseline.get(m)}
    strangers = {m: s for m, s in strangers.items() if s}
    if strangers:
        listed = "; ".join(f"{m} from {', '.join(s)} (baseline: {', '.join(baseline[m])})"
                           for m, s in strangers.items())
        hits = [{"file": site.rsplit(":", 1)[0], "line": 1, "code": site, "metric": m}
                for m, sites in strangers.items() for site in sites]
        return AuditFinding(rule="provenance", passed=False,
                            reason=f"a metric was emitted from code that did not emit it at baseline ({listed})",
                            evidence={"hits": hits, "baseline": {m: list(baseline[m]) for m in strangers}})
    return passed("provenance", "every emitted metric comes from its baseline site")


def check_printed(metrics: Sequence[str], baseline: tuple[Mapping[str, str], Mapping[str, Sequence[str]]],
                  candidate: tuple[Mapping[str, str], Mapping[str, Sequence[str]]]) -> AuditFinding:
    """Each stdout metric's line was printed by code that printed it at baseline (``(matched, printed)`` pairs:
    metric -> the line its value came from, line -> the file:function that wrote it)."""
    strangers: dict[str, tuple[str, list[str], list[str]]] = {}
    for metric in metrics:
        line_then, line_now = baseline[0].get(metric), candidate[0].get(metric)
        then = set(baseline[1].get(line_then, [])) if line_then is not None else set()
        if not then or line_now is None:
            continue  # not printed by Python code at baseline, or no value now (reported as missing)
        now = set(candidate[1].get(line_now, []))
        if not now or not now <= then:
            strangers[metric] = (line_now, sorted(now) or ["code the helper could not see"], sorted(then))
    if strangers:
        listed = "; ".join(f"{m}: {line!r} printed by {', '.join(now)} (baseline: {', '.join(then)})"
                           for m, (line, now, then) in strangers.items())
        hits = [{"file": site.rsplit(":", 1)[0], "line": 1, "code": line, "metric": m}
                for m, (line, now, _) in strangers.items() for site in now]
        return AuditFinding(rule="provenance", passed=False,
                            reason=f"a metric's line was printed by code that did not print it at baseline ({listed})",
                            evidence={"hits": hits, "printed": {m: {"line": line, "printed_by": now, "baseline": then}
                                                                for m, (line, now, then) in strangers.items()}})
    return passed("provenance", "every printed metric comes from the code that printed it at baseline")
