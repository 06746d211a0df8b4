"""The offline search brain (``--brain search``): program repair and tuning with no model.

It speaks the same pure protocol as every brain and sees only the request.
Plans come from :mod:`.discover`; patches are batches of mutations from
:mod:`.mutate`, ranked by fault localisation (:mod:`.localize`), with
constants tuned by :mod:`.tune`. Candidates already tried are read back from
the request's history, so the brain keeps no state, and the same request
always gives the same answer.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import re
from typing import Callable

from remoroo.brain.search.discover import TEST_COMMAND, TEST_FILE, Ranked, command_candidates, source_metric
from remoroo.brain.search.instrument import instrument_metrics
from remoroo.brain.search.localize import Localizer
from remoroo.brain.search.mutate import Module, Site, parse
from remoroo.brain.search.observed import from_scouting, resolve_semantic, scouted_for, to_scout, usable_run
from remoroo.brain.search.spans import SpanModule, parse_span_module
from remoroo.brain.search.tags import Mutation, mutation_tag, read_tag, tuning_tag
from remoroo.brain.search.tune import optuna_values, step_values
from remoroo.model.decide import score
from remoroo.model.goal import Goal, Literal_, is_number
from remoroo.model.patch import PatchProposal
from remoroo.model.plan import (
    Command,
    Instrument,
    PatchIntent,
    Plan,
    Readiness,
    ResolvedTarget,
    Unmeasurable,
    required_metrics,
)
from remoroo.model.spec import parse_goal
from remoroo.protocol.wire import (
    AnyRequest,
    AnyResponse,
    InstrumentRequest,
    JudgeRequest,
    JudgeResponse,
    PatchRequest,
    PatchResponse,
    PlanRequest,
    PlanResponse,
)

_REPAIR_ORDER = ("relational", "off_by_one", "arithmetic", "negation", "deletion")


class SearchBrain:
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def respond(self, request: AnyRequest) -> AnyResponse:
        if isinstance(request, PlanRequest):
            return self.plan(request)
        if isinstance(request, InstrumentRequest):
            return instrument_metrics(request)
        if isinstance(request, JudgeRequest):
            return JudgeResponse(reasoning="")  # the search brain has no opinion beyond the engine's numbers
        return self.patch(request)

    # plan ----------------------------------------------------------------------
    def plan(self, request: PlanRequest) -> PlanResponse:
        if request.replan > 0 and request.previous_plan is not None and not request.observations:
            # stagnation: the search has no other reading of the repository, so it keeps the plan that measures
            # (its candidates come from the history, which goes on)
            return PlanResponse(plan=request.previous_plan)
        resolved, unmeasurable = resolve_semantic(request.goal, [t.split()[0] for t in request.goal.targets])
        goal = _goal(request, [r.spec for r in resolved])
        metrics = required_metrics(goal)
        flags = {t.metric for t in goal.targets if isinstance(t.rhs, Literal_) and isinstance(t.rhs.value, bool)}
        views = request.context.files
        candidates = command_candidates(views, metrics, request.candidates)
        if not candidates and _tests_plan(request, metrics, resolved, unmeasurable) is not None:
            return PlanResponse(plan=_tests_plan(request, metrics, resolved, unmeasurable))
        if not candidates:
            return PlanResponse(give_up="the engine found no command to run (no README command, Makefile target, "
                                        "console script, __main__ module or top-level script)")
        scouted = request.scouted
        usable = [c for c in candidates if usable_run(scouted_for(c, scouted))]
        if scouted:  # commands that ran cleanly first, then the rest as ranked
            usable.sort(key=lambda c: 0 if getattr(scouted_for(c, scouted), "exit_code", None) == 0 else 1)
        failed = {i.metric: i for i in request.previous_plan.instrumentation} if request.previous_plan else {}
        missing: dict[str, str] = {}
        for cand in usable:
            scout = scouted_for(cand, scouted)
            found: dict[str, Instrument | None] = {}
            for m in metrics:
                static = source_metric(m, cand, views, request.observations, "main", flag=m in flags)
                seen = from_scouting(m, scout, "main") if scout is not None else None
                # what the code suggests, unless that very reading already found nothing at baseline
                found[m] = seen if seen is not None and (static is None or static == failed.get(m)) else static
            sourced = {m: inst for m, inst in found.items() if inst is not None}
            unsourced = [m for m in found if m not in sourced]
            if not unsourced:
                return PlanResponse(plan=self._plan(cand, sourced, views, request, resolved, unmeasurable))
            missing.setdefault(cand.run, ", ".join(unsourced))
        unseen = to_scout([c for c in usable if scouted_for(c, scouted) is None])
        if unseen:
            return PlanResponse(observe=unseen)
        tests_only = _tests_plan(request, metrics, resolved, unmeasurable)
        if tests_only is not None:
            return PlanResponse(plan=tests_only)
        notes = "; ".join(f"'{s.run}': {s.note}" for s in scouted if s.note)
        if not usable:
            return PlanResponse(give_up=f"every command found waits for input or cannot run ({notes})")
        first = usable[0]
        return PlanResponse(give_up=(
            f"cannot find where {missing[first.run]} is computed or reported in the files reachable from "
            f"'{first.run}' ({first.evidence}), nor in what the scouting runs printed or wrote"
            + (f" ({notes})" if notes else "") + "; emit it with remoroo.emit, print NAME=value, or name a probe"))

    def _plan(self, cand, found: dict[str, Instrument], views, request: PlanRequest,  # noqa: ANN001
              resolved: list[ResolvedTarget], unmeasurable: list[Unmeasurable]) -> Plan:
        tests = [v.path for v in views if TEST_FILE.search(v.path)]
        return Plan(
            summary=f"search brain: run '{cand.run}' (found by {cand.evidence}); mutate code on its call path",
            commands=_commands(cand, request.command_timeout_s,
                               tests=any(i.command == "tests" for i in found.values())),
            instrumentation=list(found.values()),
            patch_intents=[PatchIntent(description="mutations and constant tuning on the call path",
                                       files=cand.files)],
            protected_paths=tests,
            resolved_targets=resolved,
            unmeasurable=unmeasurable,
        )

    # patch ---------------------------------------------------------------------
    def patch(self, request: PatchRequest) -> PatchResponse:
        if request.repair is not None:  # its next batch already explores around a crash; no repair step
            return PatchResponse(give_up="the search brain does not repair single candidates")
        goal = _goal(request)
        modules: dict[str, Module | SpanModule] = {}
        for view in request.context.files:
            if view.content is None or view.protected:
                continue  # tests, harnesses, data: the audit would veto it, so no candidate is wasted there
            module = _parsed(view.path, view.content)
            if module is not None:
                # the metric's own code (its check, counters, __main__ block) is frozen: the same rule as the audit's
                module = copy.copy(module)  # the cached parse stays whole; this request's view drops frozen sites
                module.sites = [s for s in module.sites if not any(a <= s.line <= b for a, b in view.frozen)]
                modules[view.path] = module
        tried_ids, trials = _tried(request, goal)
        local = Localizer(request, goal)
        proposals = self._constants(modules, local, trials, goal)
        # a speculative change (a returned value or a bound moved by one) fits any number to a target, so it is
        # tried only where a stack trace or a failing test points: never as a way to reach an arbitrary value
        repairs = [(m, s) for m in modules.values() for s in m.sites
                   if s.kind != "constant" and s.id not in tried_ids and (not s.speculative or local.evidence(s))]
        repairs.sort(key=lambda ms: (-local.score(ms[1]), ms[1].speculative, _REPAIR_ORDER.index(ms[1].kind),
                                     ms[1].path, ms[1].line, ms[1].description))
        tuning_first = any(t.direction in ("minimize", "maximize") for t in goal.targets)
        # proposals are written lazily, in order, until the batch is full: a 2,000-file repository has
        # thousands of sites, and each written proposal costs a rewrite and a diff
        repair_props: list[Callable[[], PatchProposal | None]] = [
            functools.partial(_proposal, m, s, f"{mutation_tag(s.id)} {s.kind} {s.path}:{s.line} in "
                                               f"{s.function or '<module>'}: {s.description}") for m, s in repairs]
        constant_props: list[Callable[[], PatchProposal | None]] = [functools.partial(_given, p) for p in proposals]
        ordered = constant_props + repair_props if tuning_first else _interleave(repair_props, constant_props)
        batch: list[PatchProposal] = []
        for make in ordered:
            if len(batch) >= request.max_candidates:
                break
            made = make()
            if made is not None:
                batch.append(made)
        if not batch:
            return PatchResponse(give_up=f"every mutation of the {len(modules)} module(s) shown has been tried")
        return PatchResponse(proposals=batch)

    def _constants(self, modules: dict[str, Module | SpanModule], local: Localizer,
                   trials: dict[str, list[tuple[float, float]]], goal: Goal) -> list[PatchProposal | None]:
        sites = [(m, s) for m in modules.values() for s in m.sites if s.kind == "constant"]
        sites.sort(key=lambda ms: (-local.score(ms[1]), ms[1].path, ms[1].line, ms[1].key))
        per_site: list[list[PatchProposal | None]] = []
        seed = self.seed + int(hashlib.sha1(goal.text.encode()).hexdigest()[:6], 16)
        for module, site in sites[:4]:
            assert site.value is not None
            is_int = site.value.is_integer() and not re.search(r"[.eE]", module.literal(site))
            history = trials.get(site.key, [])
            tried = {v for v, _ in history}
            values = [v for v in step_values(site.value, is_int) if v not in tried]
            values += optuna_values(history + [(site.value, _objective_of(history, site.value))], is_int, 2, seed)
            mine: list[PatchProposal | None] = []
            for value in values:
                if value in tried or value == site.value:
                    continue
                tried.add(value)
                shown = int(value) if is_int else value
                mine.append(_proposal(
                    module, site, f"{tuning_tag(site.key, value)} tune {site.description} in {site.path}:{site.line}: "
                                  f"{_fmt(site.value)} -> {shown}", value))
            per_site.append(mine)
        # the best-ranked knob leads, but every knob gets a try in each batch: one constant never fills a turn
        lead = per_site[0][:2] if per_site else []
        rest = [per_site[0][2:], *per_site[1:]] if per_site else []
        return lead + _interleave(*rest) if rest else lead


def _given(proposal: PatchProposal | None) -> PatchProposal | None:
    return proposal


@functools.lru_cache(maxsize=4096)
def _parsed(path: str, content: str) -> Module | SpanModule | None:
    """A file's mutation sites, parsed once per content (a pure function: the brain still keeps no state, and
    a 2,000-file repository is not parsed again for every patch request)."""
    return parse(path, content) if path.endswith(".py") else parse_span_module(path, content)


def _tests_plan(request: PlanRequest, metrics: list[str], resolved: list[ResolvedTarget],
               unmeasurable: list[Unmeasurable]) -> Plan | None:
    """A repository whose only command is its test suite, for a goal whose metrics all come from the tests."""
    views = request.context.files
    if not metrics or not any(c.source == "tests" for c in request.candidates):
        return None
    found = {m: source_metric(m, _NO_COMMAND, views, {}, "tests") for m in metrics}
    if any(inst is None or inst.command != "tests" for inst in found.values()):
        return None
    code = [v.path for v in views if v.path.endswith(".py") and not TEST_FILE.search(v.path)]
    return Plan(summary="search brain: run the test suite (the repository's only command); mutate the code it tests",
                commands=[Command(name="tests", run=TEST_COMMAND, timeout_s=request.command_timeout_s)],
                instrumentation=[inst for inst in found.values() if inst is not None],
                patch_intents=[PatchIntent(description="mutations of the code under test", files=code)],
                protected_paths=[v.path for v in views if TEST_FILE.search(v.path)],
                resolved_targets=resolved, unmeasurable=unmeasurable)


_NO_COMMAND = Ranked(run="", cwd=".", env={}, evidence="", entry=None)


def _commands(cand, timeout_s: float, tests: bool = False) -> list[Command]:  # noqa: ANN001
    commands = [Command(name="main", run=cand.run, cwd=cand.cwd, env=cand.env, timeout_s=timeout_s)]
    if cand.run.startswith("cargo run"):  # the build is its own command: its time is never the program's
        build = cand.run.replace("cargo run", "cargo build", 1)
        commands.insert(0, Command(name="build", run=build, cwd=cand.cwd, env=cand.env, timeout_s=timeout_s))
        commands[1] = commands[1].model_copy(update={"depends_on": ["build"]})
    if cand.service:
        commands.insert(0, Command(name="server", role="service", run=cand.service, cwd=cand.cwd, timeout_s=timeout_s,
                                   ready=Readiness(kind="tcp", port="{port}", timeout_s=min(30.0, timeout_s))))
    if tests:  # the project's test suite, reported as JUnit XML for the tests_* probes
        commands.append(Command(name="tests", run=TEST_COMMAND, timeout_s=timeout_s))
    return commands


def _fmt(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _objective_of(history: list[tuple[float, float]], value: float) -> float:
    for v, objective in history:
        if v == value:
            return objective
    return float("inf")


def _interleave(*lists: list) -> list:  # noqa: ANN001
    """Round robin over the lists: the first of each, then the second of each..."""
    out = []
    for i in range(max((len(x) for x in lists), default=0)):
        out += [x[i] for x in lists if i < len(x)]
    return out


def _goal(request: PlanRequest | PatchRequest, resolved: list[str] | None = None) -> Goal:
    specs = [*request.goal.targets, *(resolved or [])]
    return parse_goal(request.goal.text, ", ".join(specs) or request.goal.spec)


def _tried(request: PatchRequest, goal: Goal) -> tuple[set[str], dict[str, list[tuple[float, float]]]]:
    baseline = next((h.metrics for h in request.history if h.turn == 0), {})
    base = {k: v for k, v in baseline.items() if v is not None}
    ids: set[str] = set()
    trials: dict[str, list[tuple[float, float]]] = {}
    for entry in request.history:
        tag = read_tag(entry.rationale)
        if tag is None:
            continue
        if isinstance(tag, Mutation):
            ids.add(tag.site_id)
            continue
        metrics = {k: v for k, v in entry.metrics.items() if v is not None}
        met, penalty = score(goal, metrics, base)
        objective = -1e6 * met - penalty if metrics and all(is_number(v) or isinstance(v, (bool, str))
                                                             for v in metrics.values()) else float("inf")
        trials.setdefault(tag.key, []).append((tag.value, objective))
    return ids, trials


def _proposal(module: Module | SpanModule, site: Site, rationale: str,
              value: float | None = None) -> PatchProposal | None:
    import difflib

    old = module.code
    try:
        new = module.rewrite(site, value)
    except Exception:  # noqa: BLE001 - a rewrite libcst refuses is simply not proposed
        return None
    if new == old:
        return None
    diff = "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        f"a/{site.path}", f"b/{site.path}", n=2))
    return PatchProposal(rationale=rationale, diff=diff)
