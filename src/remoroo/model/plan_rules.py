"""Plan rules that need nothing but the plan and the goal (the repository checks are in ``index/refs.py``)."""

from __future__ import annotations

import re

from remoroo.model.goal import Goal
from remoroo.model.metrics import metric_kind
from remoroo.model.plan import (
    _LOCAL_URL,
    _PROBE_KIND,
    FILE_PROBES,
    PROBE_ALIASES,
    PROBES,
    Instrument,
    Plan,
    inside,
    required_metrics,
)


def semantic_defects(plan: Plan, goal: Goal) -> list[str]:
    """Every clause with no comparison is resolved into a spec or declared unmeasurable."""
    declared_unmeasurable = {u.clause.strip() for u in plan.unmeasurable}
    return [
        f"goal clause {clause.text!r} is not measurable as written: add a resolved_targets "
        "entry turning it into a spec such as 'accuracy >= 0.9', or list it under unmeasurable with a reason"
        for clause in goal.semantic if clause.text.strip() not in declared_unmeasurable
    ]


def _nul_strings(value: object, where: str) -> list[str]:
    if isinstance(value, str):
        return [where] if "\x00" in value else []
    if isinstance(value, dict):
        return [w for k, v in value.items() for w in _nul_strings(k, f"{where}.{k}") + _nul_strings(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [w for i, v in enumerate(value) for w in _nul_strings(v, f"{where}[{i}]")]
    return []


def path_defects(plan: Plan) -> list[str]:
    """Patch intents and protected paths stay inside the repository; no text of the plan holds a NUL byte
    (no command, path or environment can)."""
    defects: list[str] = [f"{where} holds a NUL byte, which no command, path or variable can hold"
                          for where in _nul_strings(plan.model_dump(mode="json"), "plan")]
    for intent in plan.patch_intents:
        for path in intent.files + intent.creates:
            if not inside(path):
                defects.append(f"patch intent {intent.description!r} names {path!r}, outside the repository")
    for path in plan.protected_paths:
        if not inside(path.rstrip("/*") or "."):
            defects.append(f"protected path {path!r} is outside the repository")
    return defects


def service_defects(plan: Plan) -> list[str]:
    """At least one job; services declare a readiness probe; dependencies point backwards."""
    defects: list[str] = []
    if not any(c.role == "job" for c in plan.commands):
        defects.append("the plan has no job: services only run while at least one job measures them")
    earlier: list[str] = []
    for cmd in plan.commands:
        for dep in cmd.depends_on:
            if dep not in earlier:
                defects.append(f"command {cmd.name!r} depends on {dep!r}, which is not an earlier command of the plan")
        earlier.append(cmd.name)
        probe = cmd.ready
        if cmd.role == "job":
            if probe is not None:
                defects.append(f"command {cmd.name!r} is a job; only a service takes a readiness probe")
            continue
        if probe is None:
            defects.append(f"service {cmd.name!r} needs a readiness probe: tcp (port), http (url) or log (pattern)")
        elif probe.kind == "tcp" and not probe.port:
            defects.append(f"service {cmd.name!r}: a tcp probe needs a port, e.g. '{{port}}'")
        elif probe.kind == "http" and not _LOCAL_URL.match(probe.url or ""):
            defects.append(f"service {cmd.name!r}: an http probe needs a url on 127.0.0.1 or localhost")
        elif probe.kind == "log" and not probe.pattern:
            defects.append(f"service {cmd.name!r}: a log probe needs a pattern")
    return defects


def instrument_defects(plan: Plan, goal: Goal) -> list[str]:
    """Every goal (and preserved) metric has a well-formed instrumentation target."""
    defects: list[str] = []
    names = {c.name for c in plan.commands}
    for metric in required_metrics(goal) + [m for m in plan.preserve if m not in required_metrics(goal)]:
        if plan.instrument_for(metric) is None:
            hint = (
                f" ({metric} is an engine probe: add source 'probe', probe '{metric}')"
                if metric in PROBES else ""
            )
            defects.append(f"goal metric {metric!r} has no instrumentation target{hint}")
    for inst in plan.instrumentation:
        where = f"instrumentation for {inst.metric!r}"
        if inst.command is not None and inst.command not in names:
            defects.append(f"{where} names command {inst.command!r}, which the plan does not have")
        if inst.source == "probe" and inst.probe is None:
            defects.append(f"{where}: source 'probe' needs probe, one of {', '.join(PROBES)}")
        elif inst.source == "probe" and inst.probe is not None:
            defects += _probe_mismatch(where, inst.metric, inst.probe)
        if inst.source == "probe" and inst.probe in FILE_PROBES and not (inst.path and inside(inst.path)):
            kind = "coverage JSON (coverage json -o PATH)" if inst.probe == "coverage" else \
                "JUnit XML (pytest --junitxml=PATH)"
            defects.append(f"{where}: probe {inst.probe!r} needs path: the {kind} the command writes in the repo")
        if inst.source == "json_artifact":
            if not inst.path or not inst.key:
                defects.append(f"{where}: source 'json_artifact' needs both path and key")
            elif not inside(inst.path):
                defects.append(f"{where}: artifact path {inst.path!r} is outside the repository")
        if inst.source == "stdout":
            defects += _pattern_defects(where, inst)
    return defects


def _pattern_defects(where: str, inst: Instrument) -> list[str]:
    if inst.command is None:
        return [f"{where}: source 'stdout' needs the command whose output holds the metric"]
    if not inst.pattern:
        return [f"{where}: source 'stdout' needs a pattern, e.g. 'accuracy=([0-9.]+)'"]
    try:
        compiled = re.compile(inst.pattern)
    except re.error as exc:
        return [f"{where}: pattern {inst.pattern!r} is not a valid regex ({exc})"]
    if compiled.groups < 1:
        return [f"{where}: pattern {inst.pattern!r} needs a capture group around the value"]
    literal = re.sub(r"\\.|\[[^\]]*\]|\(\?[:P<=!][^)]*|[()?*+{}|^$.\d,]", "", inst.pattern)
    whole_line = inst.pattern.startswith("^") and inst.pattern.endswith("$")  # the line is the value
    if not whole_line and not re.search(r"[A-Za-z]", literal):
        return [f"{where}: pattern {inst.pattern!r} has no label, so it would read any number the command prints; "
                f"anchor it on the text before the value, e.g. '{inst.metric}=([0-9.]+)'"]
    return []


def _probe_mismatch(where: str, metric: str, probe: str) -> list[str]:
    """A probe measures one quantity; a metric that plainly names another cannot come from it."""
    if PROBE_ALIASES.get(metric, metric) == probe:
        return []
    measures = _PROBE_KIND.get(probe, probe)
    kind = metric_kind(metric)
    if kind is None or kind == measures:
        return []
    return [f"{where}: probe {probe!r} measures {measures}, which cannot produce {metric!r} "
            f"(it names {kind}); report it from the code (stdout, json_artifact or emit)"
            + (" or use probe 'runtime_s'" if kind == "a duration" else "")
            + (" or use probe 'peak_memory_mb'" if kind == "memory" else "")]
