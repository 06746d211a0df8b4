"""Candidates measured on dask.distributed (a LocalCluster on 127.0.0.1): the same decisions, logs brought home."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import FIB_PLAN, ROOT, cli, edit, git_init, latest_run, write_files

from remoroo.measure.remote import MeasureJob, can_measure_away, land, measure_job, pack
from remoroo.model.plan import Plan


def events(run_dir: Path, name: str) -> list[dict]:
    return [e for e in map(json.loads, (run_dir / "events.ndjson").read_text().splitlines()) if e["event"] == name]


def test_a_tree_measured_elsewhere_comes_back_with_its_logs(tmp_path: Path) -> None:
    tree = write_files(tmp_path / "tree", {
        "main.py": "import sys\nfrom remoroo import emit\nemit('answer', 42)\nprint('answer=41')\n"
                   "raise SystemExit(0 if open('data/x.txt').read().strip() == 'ok' else 3)\n",
        "data/x.txt": "ok\n"})
    (tree / ".git").mkdir()
    (tree / ".git" / "HEAD").write_text("secret\n")
    plan = Plan.model_validate({"commands": [{"name": "main", "run": "python3 main.py"}], "instrumentation": [
        {"metric": "answer", "source": "emit", "command": "main"},
        {"metric": "runs", "source": "probe", "probe": "code_runs", "command": "main"}]})
    result = measure_job(MeasureJob(archive=pack(tree), plan=plan, metrics=["answer", "runs"], repeats=1,
                                    budget_s=30, grace_s=0.5))
    assert result.tree_root != str(tree) and ".git/HEAD" not in result.logs
    logs = tmp_path / "logs"
    measured = land(result, logs, tree)
    assert measured.metrics == {"answer": 42, "runs": True}
    run = measured.commands[0]
    assert run.stdout_log == str(logs / "main.stdout.log") and Path(run.stdout_log).read_text() == "answer=41\n"


def test_machine_bound_metrics_stay_here() -> None:
    assert can_measure_away(["fib_10", "accuracy", "tests_pass"])
    assert not can_measure_away(["fib_10", "runtime_s"]) and not can_measure_away(["peak_memory_mb"])


def test_search_brain_on_a_local_cluster_decides_as_it_does_here(tmp_path: Path) -> None:
    runs = {}
    for mode in ("here", "cluster"):
        case = tmp_path / mode / "fib_fix"
        shutil.copytree(ROOT / "examples" / "fib_fix", case, ignore=shutil.ignore_patterns(".remoroo"))
        extra = ["--cluster", "local"] if mode == "cluster" else []
        done = cli("run", "--case", str(case / "case.json"), "--brain", "search", *extra, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        runs[mode] = latest_run(case / "repo")
    def decisions(run_dir: Path) -> list[tuple]:
        return [(c["candidate"], c["decision"], c["metrics"]) for c in events(run_dir, "candidate")]
    assert decisions(runs["here"]) == decisions(runs["cluster"])
    away = events(runs["cluster"], "measured_away")
    assert events(runs["cluster"], "cluster")[0]["address"] == "local"
    measured = [c for c in events(runs["cluster"], "candidate") if c["decision"] in ("KEPT", "REVERTED")]
    assert len(away) == len(measured) >= 2 and not events(runs["here"], "measured_away")
    outputs = [(runs["cluster"] / e["logs"] / "main.stdout.log").read_text() for e in away]
    assert "fib_10=55\n" in outputs  # the kept candidate's log, written here


def test_a_timing_goal_is_measured_here_even_with_a_cluster(tmp_path: Path, script) -> None:
    repo = write_files(tmp_path / "fib", {
        "fib.py": "def fib(n):\n    a, b = 0, 1\n    for _ in range(n - 1):\n        a, b = b, a + b\n    return a\n",
        "main.py": "from fib import fib\n\nprint(f'fib_10={fib(10)}')\n"})
    git_init(repo)
    plan = dict(FIB_PLAN, instrumentation=FIB_PLAN["instrumentation"] + [
        {"metric": "runtime_s", "source": "probe", "probe": "runtime_s", "command": "main"}])
    fix = edit("fib.py", "    for _ in range(n - 1):\n", "    for _ in range(n):\n")
    done = cli("run", str(repo), "--goal", "g", "--metrics", "fib_10 == 55, runtime_s < 30", "--cluster", "local",
               "--brain", f"scripted:{script([plan], [fix])}", "--max-turns", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not events(latest_run(repo), "measured_away")
