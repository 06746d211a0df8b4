from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIB, FIB_PLAN, write_files

from remoroo.errors import PlanRejected
from remoroo.loop.planning import validate_plan
from remoroo.model.plan import Plan
from remoroo.model.spec import parse_goal


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_files(tmp_path, FIB)


def check(root: Path, plan: dict, spec: str = "fib_10 == 55") -> list[str]:
    try:
        validate_plan(Plan.model_validate(plan), parse_goal("g", spec), root)
    except PlanRejected as exc:
        return exc.defects
    return []


def test_good_plan_passes(root: Path) -> None:
    assert check(root, FIB_PLAN) == []


def test_missing_file_in_a_command(root: Path) -> None:
    plan = dict(FIB_PLAN, commands=[{"name": "main", "run": "python3 train.py --epochs 3"}])
    missing = ["command 'main' references 'train.py', which does not exist in the repository (a plan measures "
               "what the repository holds, not what a patch would create)"]
    assert check(root, plan) == missing
    plan["patch_intents"] = [{"description": "add a training script", "creates": ["train.py"]}]
    assert check(root, plan) == missing  # a patch may not create what is measured


def test_goal_metric_without_instrumentation(root: Path) -> None:
    defects = check(root, FIB_PLAN, "fib_10 == 55, runtime_s < 2")
    assert defects == ["goal metric 'runtime_s' has no instrumentation target (runtime_s is an engine probe: "
                       "add source 'probe', probe 'runtime_s')"]


def test_baseline_reference_needs_instrumentation_too(root: Path) -> None:
    assert "goal metric 'other' has no instrumentation target" in check(root, FIB_PLAN, "fib_10 < baseline other")


def test_instrumentation_that_cannot_produce_the_metric(root: Path) -> None:
    bad = [
        {"metric": "fib_10", "source": "stdout", "command": "main", "pattern": "fib_10=\\d+"},
        {"metric": "a", "source": "stdout", "command": "nosuch", "pattern": "(x)"},
        {"metric": "b", "source": "json_artifact", "path": "m.json"},
        {"metric": "c", "source": "probe"},
        {"metric": "d", "source": "stdout", "command": "main", "pattern": "("},
    ]
    defects = check(root, dict(FIB_PLAN, instrumentation=bad))
    assert any("needs a capture group" in d for d in defects)
    assert any("command 'nosuch'" in d for d in defects)
    assert any("needs both path and key" in d for d in defects)
    assert any("needs probe" in d for d in defects)
    assert any("not a valid regex" in d for d in defects)


@pytest.mark.parametrize(("inst", "defect"), [
    ({"metric": "accuracy", "source": "probe", "probe": "runtime_s"},
     "probe 'runtime_s' measures a duration, which cannot produce 'accuracy'"),
    ({"metric": "latency_ms", "source": "probe", "probe": "peak_memory_mb"},
     "probe 'peak_memory_mb' measures memory, which cannot produce 'latency_ms' (it names a duration); "
     "report it from the code (stdout, json_artifact or emit) or use probe 'runtime_s'"),
    ({"metric": "fib_10", "source": "probe", "probe": "exit_code"}, "measures an exit status, which cannot produce"),
    ({"metric": "fib_10", "source": "stdout", "command": "main", "pattern": "([0-9]+)"},
     "has no label, so it would read any number the command prints"),
    ({"metric": "fib_10", "source": "stdout", "command": "main", "pattern": r"\s+(\d+)"}, "has no label"),
])
def test_a_source_that_cannot_produce_the_metric(root: Path, inst: dict, defect: str) -> None:
    defects = check(root, dict(FIB_PLAN, instrumentation=[inst]), f"{inst['metric']} >= 0")
    assert len(defects) == 1 and defect in defects[0], defects


@pytest.mark.parametrize("inst", [
    {"metric": "training_time", "source": "probe", "probe": "runtime_s"},
    {"metric": "peak_rss_mb", "source": "probe", "probe": "peak_memory_mb"},
    {"metric": "runtime", "source": "probe", "probe": "runtime_s"},
    {"metric": "fib_10", "source": "stdout", "command": "main", "pattern": r"^(\d+)$"},
    {"metric": "fib_10", "source": "stdout", "command": "main", "pattern": r"fib\(10\)\s*=\s*(\d+)"},
])
def test_sources_that_can_produce_the_metric(root: Path, inst: dict) -> None:
    assert check(root, dict(FIB_PLAN, instrumentation=[inst]), f"{inst['metric']} >= 0") == []


def test_paths_outside_the_repo(root: Path) -> None:
    plan = dict(FIB_PLAN, patch_intents=[{"description": "x", "files": ["../etc/passwd"]}],
                commands=[{"name": "main", "run": "python3 main.py", "cwd": "/tmp"}])
    defects = check(root, plan)
    assert any("outside the repository" in d and "passwd" in d for d in defects)
    assert any("cwd '/tmp' is outside" in d for d in defects)


def test_semantic_clause_needs_resolution(root: Path) -> None:
    defects = check(root, FIB_PLAN, "fib_10 == 55, is correct")
    assert len(defects) == 1 and "'is correct' is not measurable" in defects[0]


def test_duplicate_command_names(root: Path) -> None:
    plan = dict(FIB_PLAN, commands=FIB_PLAN["commands"] * 2)
    assert "command name 'main' is used twice" in check(root, plan)


def test_plan_json_snapshot() -> None:
    snap = Path(__file__).parent / "snapshots" / "fib_plan.json"
    plan = Plan.model_validate(FIB_PLAN).model_dump_json(indent=2) + "\n"
    assert plan == snap.read_text()


@pytest.mark.parametrize(("files", "run", "cwd", "defect"), [
    ({"Makefile": "bench: build\n\tpython3 main.py\nbuild:\n\ttrue\n"}, "make benchmark", ".",
     "command 'main' runs make target 'benchmark', which Makefile does not define (it has: bench, build)"),
    ({}, "make bench", ".", "command 'main' runs make, but there is no Makefile in the repository root"),
    ({"pkg/__init__.py": "", "pkg/cli.py": ""}, "python3 -m pkg.train --epochs 2", ".",
     "command 'main' runs module 'pkg.train', which is not in the repository (pkg/train.py does not exist)"),
    ({"web/package.json": '{"scripts": {"test": "vitest"}}'}, "npm run bench", "web",
     "command 'main' runs npm script 'bench', which package.json does not define (it has: test)"),
    ({"web/x.txt": ""}, "npm test", "web",
     "command 'main' runs npm script 'test', but there is no package.json in 'web'"),
    ({"sub/x.py": ""}, "cd sub && python3 run.py", ".", "command 'main' references 'sub/run.py', which does not exist"),
    ({}, "node server.ts", ".", "command 'main' references 'server.ts', which does not exist"),
])
def test_commands_naming_what_the_repository_lacks(root: Path, files: dict[str, str], run: str, cwd: str,
                                                   defect: str) -> None:
    write_files(root, files)
    plan = dict(FIB_PLAN, commands=[{"name": "main", "run": run, "cwd": cwd}])
    defects = check(root, plan)
    assert len(defects) == 1 and defects[0].startswith(defect), defects


@pytest.mark.parametrize(("files", "run", "cwd"), [
    ({"Makefile": "bench: build\n\tpython3 main.py\nbuild:\n\ttrue\n"}, "make bench", "."),
    ({"Makefile": "include common.mk\n"}, "make anything", "."),
    ({"Makefile": "%.o: %.c\n\tcc $<\n"}, "make fib.o", "."),
    ({"Makefile": "a b: c\n\ttrue\n"}, "make -j2 b V=1", "."),
    ({"pkg/__init__.py": "", "pkg/cli.py": ""}, "python3 -m pkg.cli", "."),
    ({"src/tool/__init__.py": "", "src/tool/__main__.py": ""}, "PYTHONPATH=src python3 -m tool", "."),
    ({}, "python3 -m pytest -q && python3 -m json.tool x.json || exit 1", "."),
    ({"web/package.json": '{"scripts": {"test": "vitest"}}'}, "npm test", "web"),
    ({"web/package.json": '{"scripts": {"bench": "node b.js"}}'}, "npm run bench -- --fast", "web"),
    ({"sub/run.py": ""}, "cd sub && python3 run.py", "."),
])
def test_commands_whose_references_exist(root: Path, files: dict[str, str], run: str, cwd: str) -> None:
    write_files(root, {**files, "x.json": "{}"})
    assert check(root, dict(FIB_PLAN, commands=[{"name": "main", "run": run, "cwd": cwd}])) == []
