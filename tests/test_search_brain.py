"""The offline search brain: fixtures of each kind end to end, operators, determinism."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, cli, latest_run
from hypothesis import given
from hypothesis import strategies as st

from remoroo.brain.search import SearchBrain
from remoroo.brain.search.discover import command_candidates
from remoroo.brain.search.mutate import parse
from remoroo.brain.search.spans import parse_span_module
from remoroo.brain.search.tags import Mutation, Tuning, read_tag, tuning_tag
from remoroo.evidence.report import parse_outcome
from remoroo.model.plan import Plan
from remoroo.protocol.wire import (
    ContextSlice,
    FileView,
    GoalView,
    ObservedValue,
    PatchRequest,
    PatchResponse,
    PlanRequest,
    PlanResponse,
    Scouted,
    StateSummary,
)


def run_case(tmp_path: Path, name: str, *extra: str) -> tuple[int, dict, Path]:
    case_dir = tmp_path / name
    shutil.copytree(ROOT / "examples" / name, case_dir, ignore=shutil.ignore_patterns(".remoroo"))
    done = cli("run", "--case", str(case_dir / "case.json"), "--brain", "search", *extra, timeout=300)
    run_dir = latest_run(case_dir / "repo")
    report = json.loads((run_dir / "final_report.json").read_text())
    assert parse_outcome((run_dir / "final_report.md").read_text()) == report["outcome"]
    return done.returncode, report, run_dir


def candidates(run_dir: Path) -> list[dict]:
    lines = (run_dir / "events.ndjson").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == "candidate"]


def test_off_by_one_range(tmp_path: Path) -> None:
    code, report, run_dir = run_case(tmp_path, "fib_fix")
    assert (code, report["outcome"]) == (0, "SUCCESS")
    assert "range(n)" in (run_dir / "final_patch.diff").read_text()


def test_loop_that_runs_forever_is_killed_and_repaired(tmp_path: Path) -> None:
    code, report, run_dir = run_case(tmp_path, "loop_forever")
    assert (code, report["outcome"]) == (0, "SUCCESS")
    assert report["metrics"][0]["baseline"] is None  # the baseline hung
    stderr = (run_dir / "turns" / "0" / "logs" / "main.stderr.log").read_text()
    assert "in count_steps" in stderr  # the stack at the kill
    first = candidates(run_dir)[0]
    assert "relational" in first["rationale"] and "count_steps" in first["rationale"]  # localised
    assert "i < n" in (run_dir / "final_patch.diff").read_text()
    time.sleep(0.2)
    assert not [p for p in psutil.process_iter() if _cwd_in(p, tmp_path)], "a candidate process survived"


def _cwd_in(proc: psutil.Process, root: Path) -> bool:
    try:
        return str(root) in proc.cwd() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_learning_rate_tuned_across_turns(tmp_path: Path) -> None:
    code, report, run_dir = run_case(tmp_path, "lr_tuning")
    assert (code, report["outcome"]) == (0, "SUCCESS")
    kept = [t for t in report["turns"] if t["decision"] == "KEPT"]
    assert len(kept) >= 2, "tuning should take several turns"
    rationales = [c["rationale"] for c in candidates(run_dir)]
    assert any("LEARNING_RATE" in r for r in rationales)


def test_impossible_target_ends_fail(tmp_path: Path) -> None:
    code, report, _ = run_case(tmp_path, "impossible")
    assert (code, report["outcome"]) == (1, "FAIL")


def test_same_repo_and_goal_give_the_same_candidates(tmp_path: Path) -> None:
    _, _, first = run_case(tmp_path / "a", "lr_tuning")
    _, _, second = run_case(tmp_path / "b", "lr_tuning", "--workers", "1")  # sequential, not side by side
    def summary(run_dir: Path) -> list[tuple]:
        return [(c["turn"], c["candidate"], c["rationale"], c["decision"], c["metrics"]) for c in candidates(run_dir)]
    assert summary(first) == summary(second)
    assert not (first / "work-candidates").exists() or not any((first / "work-candidates").rglob("*.py"))


SOURCE = '''\
import time

RATE = 0.5  # keep this comment


def f(xs, n):
    total = 0
    for i in range(len(xs) - 1):
        if xs[i] < n and not False:
            total = total + xs[i]
    time.sleep(1)
    return total
    print("dead")


def g(k=3):
    return run(k, scale=2.0)
'''


def test_operators_of_every_kind_preserve_formatting() -> None:
    module = parse("m.py", SOURCE)
    assert module is not None
    kinds = {s.kind for s in module.sites}
    assert kinds == {"relational", "arithmetic", "off_by_one", "negation", "deletion", "constant"}
    by_desc = {s.description: s for s in module.sites}
    rewritten = module.rewrite(by_desc["'xs[i] < n': < -> <="])
    assert "if xs[i] <= n and not False:" in rewritten and "# keep this comment" in rewritten
    assert "range(len(xs))" in module.rewrite(by_desc["'range(len(xs) - 1)' -> 'range(len(xs))'"])
    assert "time.sleep" not in module.rewrite(next(s for s in module.sites if "slow" in s.description))
    assert 'print("dead")' not in module.rewrite(next(s for s in module.sites if "dead" in s.description))
    keys = {s.key: s.value for s in module.sites if s.kind == "constant"}
    assert keys == {"m.py::RATE": 0.5, "m.py:f:total": 0.0, "m.py:g:k": 3.0, "m.py:g:run.scale": 2.0}
    rate = next(s for s in module.sites if s.key == "m.py::RATE")
    assert "RATE = 0.05  # keep this comment" in module.rewrite(rate, 0.05)


def _request(files: dict[str, str], spec: str, history: list[StateSummary] | None = None) -> PatchRequest:
    views = [FileView(path=p, size=len(t), content=t) for p, t in files.items()]
    plan = Plan.model_validate({"commands": [{"name": "main", "run": "python3 main.py"}]})
    return PatchRequest(goal=GoalView(text="g", spec=spec, targets=[spec]), turn=1, plan=plan, max_candidates=3,
                        context=ContextSlice(files=views, budget_chars=10_000), history=history or [])


FILES = {
    "main.py": "from fib import fib\n\nprint(f'fib_10={fib(10)}')\n",
    "fib.py": "def fib(n):\n    a, b = 0, 1\n    for _ in range(n - 1):\n        a, b = b, a + b\n    return a\n",
    "tests/test_fib.py": "from fib import fib\n\ndef test():\n    assert fib(1) == 1\n",
}


def test_patch_answers_are_deterministic_and_skip_tried_candidates() -> None:
    brain = SearchBrain()
    first = brain.respond(_request(FILES, "fib_10 == 55"))
    assert len(first.proposals) == 3
    assert first.model_dump_json() == brain.respond(_request(FILES, "fib_10 == 55")).model_dump_json()
    assert all("tests/" not in (p.diff or "") for p in first.proposals)
    tried = [StateSummary(label="turn 1", turn=1, candidate=k, metrics={"fib_10": 21}, decision="REVERTED",
                          reason="r", rationale=p.rationale) for k, p in enumerate(first.proposals, 1)]
    second = brain.respond(_request(FILES, "fib_10 == 55", tried))
    assert not {p.rationale for p in second.proposals} & {p.rationale for p in first.proposals}


def _plan_request(tmp_path: Path, files: dict[str, str], targets: list[str]) -> PlanRequest:
    """A plan request the way the engine builds it: the shown files plus the commands it discovered."""
    from conftest import write_files

    from remoroo.index import build_index
    from remoroo.index.discovery import discover_commands

    write_files(tmp_path, files)
    views = [FileView(path=p, size=len(t), content=t) for p, t in files.items()]
    return PlanRequest(goal=GoalView(text="g", spec="s", targets=targets),
                       context=ContextSlice(files=views, budget_chars=10_000),
                       candidates=discover_commands(tmp_path, build_index(tmp_path)))


def test_plan_sources_metrics_and_refuses_unsourced_ones(tmp_path: Path) -> None:
    plan = SearchBrain().respond(_plan_request(tmp_path / "a", FILES, ["fib_10 == 55", "runtime_s < 1"]))
    assert plan.plan is not None
    sources = {i.metric: i.source for i in plan.plan.instrumentation}
    assert sources == {"fib_10": "stdout", "runtime_s": "probe"}
    assert plan.plan.protected_paths == ["tests/test_fib.py"]
    assert "main.py: top-level script" in plan.plan.summary  # the evidence of the chosen command
    request = _plan_request(tmp_path / "b", FILES, ["accuracy >= 0.9"])
    unsourced = SearchBrain().respond(request)  # the code does not say: it asks to see the commands run
    assert isinstance(unsourced, PlanResponse) and unsourced.observe == ["python3 main.py"]
    seen = request.model_copy(update={"scouted": [Scouted(run="python3 main.py", exit_code=0, values=[
        ObservedValue(label="fib_10", value=55, source="stdout", line="fib_10=55")])]})
    unsourced = SearchBrain().respond(seen)  # ran, and showed no accuracy: a clear give-up
    assert unsourced.give_up is not None and "accuracy" in unsourced.give_up and "scouting" in unsourced.give_up
    nothing = SearchBrain().respond(_plan_request(tmp_path / "c", {"lib.py": "X = 1\n"}, ["x == 1"]))
    assert nothing.give_up is not None and "no command" in nothing.give_up


@pytest.mark.parametrize(("files", "expected"), [
    ({"app/cli.py": "if __name__ == '__main__':\n    print('score=1')\n"}, "python3 app/cli.py"),
    ({"README.md": "Run it:\n\n```\npython3 bench.py --fast\n```\n", "bench.py": "print('score=1')\n",
      "other.py": "if __name__ == '__main__':\n    print('hello')\n"}, "python3 bench.py --fast"),
    ({"Makefile": "bench:\n\tpython3 tools/b.py\n", "tools/b.py": "print('score=2')\n",
      "lib.py": "X = 1\n"}, "make bench"),
])
def test_the_brain_chooses_among_the_engines_candidates(tmp_path: Path, files: dict[str, str],
                                                        expected: str) -> None:
    request = _plan_request(tmp_path, files, ["score >= 1"])
    found = command_candidates(request.context.files, ["score"], request.candidates)
    assert found[0].run == expected and found[0].evidence
    assert command_candidates(request.context.files, ["score"], []) == []  # nothing but what it was sent


def test_service_answer_off_by_a_constant(tmp_path: Path) -> None:
    code, report, run_dir = run_case(tmp_path, "service_offset")
    assert (code, report["outcome"]) == (0, "SUCCESS")
    plan = json.loads((run_dir / "plan.json").read_text())
    assert [(c["name"], c["role"]) for c in plan["commands"]] == [("server", "service"), ("main", "job")]
    assert plan["commands"][0]["run"] == "python3 server.py --port {port}"
    assert "OFFSET = 0" in (run_dir / "final_patch.diff").read_text()
    assert not [p for p in psutil.process_iter() if _cwd_in(p, tmp_path)], "the service survived"


UNREPORTED = {
    "evaluate.py": (
        "VALUES = [0.1, 0.2, 0.6, 0.9]\nLABELS = [0, 0, 1, 1]\nTHRESHOLD = 1.2\n\n\n"
        "def predict(v):\n    return 1 if v > THRESHOLD else 0\n\n\n"
        "if __name__ == '__main__':\n"
        "    preds = [predict(v) for v in VALUES]\n"
        "    accuracy = sum(p == y for p, y in zip(preds, LABELS)) / len(LABELS)\n"
        "    print('evaluation finished')\n"
    ),
}


def test_unreported_metric_is_instrumented_apart_from_the_final_diff(tmp_path: Path) -> None:
    from conftest import git_init, write_files

    repo = write_files(tmp_path / "unreported", {"run_eval.py": UNREPORTED["evaluate.py"]})
    git_init(repo)
    done = cli("run", str(repo), "--goal", "raise accuracy", "--metrics", "accuracy >= 0.9", "--brain", "search")
    run_dir = latest_run(repo)
    report = json.loads((run_dir / "final_report.json").read_text())
    assert done.returncode == 0, report["reason"]
    instrumentation = (run_dir / "instrumentation.diff").read_text()
    assert "remoroo.emit('accuracy', accuracy)" in instrumentation
    final = (run_dir / "final_patch.diff").read_text()
    assert "emit" not in final and "THRESHOLD" in final
    assert report["metrics"][0]["baseline"] == 0.5 and report["metrics"][0]["final"] == 1.0


@given(st.text(min_size=1, max_size=80), st.floats(allow_nan=False))
def test_tuning_tags_round_trip_for_any_key_and_value(key: str, value: float) -> None:
    tag = read_tag(tuning_tag(key, value) + " tune something")
    assert isinstance(tag, Tuning) and (tag.key, tag.value) == (key, value)


@given(st.text(max_size=120))
def test_reading_any_rationale_never_raises(text: str) -> None:
    read_tag(text)
    read_tag("[t:" + text)
    read_tag("[m:" + text + "]")


def test_an_augmented_assignment_key_is_a_tag_not_a_crash() -> None:
    """The crash on a real repository: the tuning tag of ``x += 2.0`` read back as '=2.0'."""
    assert read_tag("[t:model.py:train:x%2B%3D=2.0] tune x += ...") == Tuning("model.py:train:x+=", 2.0)
    # the old, unencoded spelling of the same tag: the value is after the last '='
    assert read_tag("[t:model.py:train:x+==2.0] old") == Tuning("model.py:train:x+=", 2.0)
    assert read_tag("[t:model.py:train:x=two] torn") is None and read_tag("[t:=2.0] no key") is None
    assert read_tag("[m:0a1b2c] relational") == Mutation("0a1b2c") and read_tag("[m:zz] x") is None
    source = "def train(steps):\n    total = 0\n    total += 2.0\n    return total\n"
    module = parse("model.py", source)
    assert module is not None and any(s.key == "model.py:train:total+=" for s in module.sites)
    request = _request({"main.py": "from model import train\nprint(f'total={train(3)}')\n", "model.py": source},
                       "total >= 10")
    first = SearchBrain().respond(request)
    assert isinstance(first, PatchResponse) and first.proposals
    history = [StateSummary(label=f"c{i}", turn=1, candidate=i, metrics={"total": 1.0}, decision="REVERTED",
                            reason="worse", rationale=p.rationale) for i, p in enumerate(first.proposals, 1)]
    second = SearchBrain().respond(_request(request.context and {v.path: v.content or "" for v in
                                                                 request.context.files}, "total >= 10", history))
    assert isinstance(second, PatchResponse)
    assert not {p.rationale for p in second.proposals} & {p.rationale for p in first.proposals}


NATIVE = {
    "lib/stock.js": ("// count\nfunction inStock(items) {\n  let n = 0;  // kept\n"
                     "  for (let i = 0; i < items.length - 1; i++) { n += 1; }\n  return n;\n}\n"
                     "const RATE = 0.5;\nconst OK = !true;\n",
                     "'items.length - 1' -> 'items.length'", "i < items.length; i++"),
    "main.go": ("package main\n\nconst Rate = 0.5 // per second\n\nfunc add(a, b int) int {\n\treturn a + b + 1\n}\n",
                "'a + b + 1' -> 'a + b'", "\treturn a + b\n"),
    "src/main.rs": ("const FLOOR: i32 = 10;\n\nfn kept(r: &[i32]) -> usize {\n"
                    "    r.iter().filter(|x| **x > FLOOR).count()\n}\n", "'**x > FLOOR': > -> >=", "**x >= FLOOR"),
}


@pytest.mark.parametrize("path", sorted(NATIVE))
def test_native_sources_mutate_as_text_spans(path: str) -> None:
    source, description, fixed = NATIVE[path]
    module = parse_span_module(path, source)
    assert module is not None
    site = next(s for s in module.sites if s.description == description)
    rewritten = module.rewrite(site)
    assert fixed in rewritten
    changed = [(a, b) for a, b in zip(source.splitlines(), rewritten.splitlines(), strict=True) if a != b]
    assert len(changed) == 1  # one span: every other line, comments and spacing included, as written
    constant = next(s for s in module.sites if s.kind == "constant" and s.value in (0.5, 10.0))
    tuned = module.rewrite(constant, 0.25 if constant.value == 0.5 else 11)
    assert ("0.25" in tuned or "11" in tuned) and len(tuned.splitlines()) == len(source.splitlines())
    assert parse_span_module(path, source + "\n}}}{{{ (((\n") is None  # a file that does not parse has no sites


def test_the_search_brain_proposes_native_repairs() -> None:
    main = "const { inStock } = require('./lib/stock');\nconsole.log(`in_stock=${inStock([1, 2])}`);\n"
    request = _request({"main.js": main,
                        "lib/stock.js": NATIVE["lib/stock.js"][0]}, "in_stock == 2")
    answer = SearchBrain().respond(request)
    assert isinstance(answer, PatchResponse)
    assert any("lib/stock.js" in p.rationale and "items.length" in p.rationale for p in answer.proposals)
    assert all(p.diff and p.diff.startswith("--- a/") for p in answer.proposals)
