"""Resume: a run killed with SIGKILL at any point carries on and ends as the uninterrupted run would have."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FIB, FIB_PLAN, ROOT, cli, edit, git_init, write_files

SLOW_FIB = dict(FIB, **{"main.py": "import time\nfrom fib import fib\n\ntime.sleep(0.25)\n"
                                   "print(f'fib_10={fib(10)}')\n"})
WORSE = edit("fib.py", "    for _ in range(n - 1):\n", "    for _ in range(n - 2):\n")
FIX = edit("fib.py", "    for _ in range(n - 1):\n", "    for _ in range(n):\n")


def make_repo(root: Path) -> Path:
    repo = write_files(root, SLOW_FIB)
    git_init(repo)
    return repo


def brain_file(tmp_path: Path) -> Path:
    path = tmp_path / "brain.json"
    path.write_text(json.dumps({"format": "remoroo.scripted/1", "plans": [FIB_PLAN], "patches": [WORSE, FIX],
                                "judge": "a fine fix"}))
    return path


def run_args(repo: Path, brain: Path) -> list[str]:
    return ["run", str(repo), "--goal", "Fix fib", "--metrics", "fib_10 == 55", "--brain", f"scripted:{brain}",
            "--max-turns", "4"]


def the_run(repo: Path) -> Path:
    return sorted((repo / ".remoroo" / "runs").iterdir())[-1]


def names(run_dir: Path) -> list[str]:
    return [json.loads(line)["event"] for line in (run_dir / "events.ndjson").read_text().splitlines()]


def result(run_dir: Path) -> tuple[str, str, dict, str]:
    report = json.loads((run_dir / "final_report.json").read_text())
    finals = {row["metric"]: row["final"] for row in report["metrics"]}
    return report["outcome"], report["reason"], finals, (run_dir / "final_patch.diff").read_text()


def kill_after(repo: Path, brain: Path, lines: int) -> bool:
    """Start the CLI and SIGKILL it once its ledger holds ``lines`` lines; True if it died unfinished."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMOROO_")}
    proc = subprocess.Popen([sys.executable, "-m", "remoroo.cli", *run_args(repo, brain)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            runs = repo / ".remoroo" / "runs"
            ledger = next(runs.glob("*/events.ndjson"), None) if runs.is_dir() else None
            if ledger is not None and ledger.read_text().count("\n") >= lines:
                break
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    return not (the_run(repo) / "final_report.json").is_file()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[tuple[str, str, dict, str], list[str]]:
    root = tmp_path_factory.mktemp("reference")
    repo = make_repo(root / "fib")
    done = cli(*run_args(repo, brain_file(root)))
    assert done.returncode == 0, done.stderr + done.stdout
    return result(the_run(repo)), names(the_run(repo))


@pytest.mark.parametrize("point", range(10))
def test_a_run_killed_at_any_point_resumes_to_the_same_end(tmp_path: Path, reference, point: int) -> None:
    expected, sequence = reference
    # ten points spread over the whole ledger: planning, the baseline, each turn, verification, the judge, the end
    lines = 1 + round(point * (len(sequence) - 2) / 9)
    repo = make_repo(tmp_path / "fib")
    brain = brain_file(tmp_path)
    interrupted = kill_after(repo, brain, lines)
    run_dir = the_run(repo)
    finished_before = "run_finished" in names(run_dir)
    measured = len(list((run_dir / "journal").glob("measure-*.json"))) if (run_dir / "journal").is_dir() else 0
    answered = len(list((run_dir / "brain").glob("*.response.json"))) if (run_dir / "brain").is_dir() else 0
    if interrupted:
        shown = cli("show", run_dir.name, "--repo", str(repo))
        assert f"interrupted; resume with: remoroo resume {run_dir.name}" in shown.stdout, shown.stdout
    done = cli("resume", run_dir.name, "--repo", str(repo))
    assert done.returncode == 0, done.stderr + done.stdout
    assert result(run_dir) == expected
    got = names(run_dir)
    assert [n for n in got if n != "resumed"] == sequence  # nothing lost, nothing twice
    assert got.count("resumed") == (1 if interrupted and not finished_before else 0)
    if got.count("resumed"):  # only the step in flight was done again: everything on record was taken from it
        note = [json.loads(line) for line in (run_dir / "events.ndjson").read_text().splitlines()
                if json.loads(line)["event"] == "resumed"][0]
        assert (note["replayed_measurements"], note["replayed_brain_calls"]) == (measured, answered), note
    assert not (run_dir / "work").exists() and not (run_dir / "run.pid").exists()
    # the user's repository holds nothing of the run but .remoroo/
    assert sorted(p.name for p in repo.iterdir() if p.name not in (".git", ".remoroo")) == sorted(SLOW_FIB)


def test_resume_of_a_finished_run_redoes_nothing_and_show_tells_a_running_one(tmp_path: Path) -> None:
    import psutil

    repo = make_repo(tmp_path / "fib")
    done = cli(*run_args(repo, brain_file(tmp_path)))
    assert done.returncode == 0
    run_dir = the_run(repo)
    before = names(run_dir)
    (run_dir / "final_report.md").unlink()  # as if killed while writing the reports
    (run_dir / "final_report.json").unlink()
    again = cli("resume", "latest", "--repo", str(repo))
    assert again.returncode == 0 and "SUCCESS" in again.stdout
    assert names(run_dir) == before and (run_dir / "final_report.md").is_file()
    (run_dir / "final_report.json").unlink()
    other = subprocess.Popen(["sleep", "30"])
    try:
        (run_dir / "run.pid").write_text(json.dumps({"pid": other.pid,
                                                     "started": psutil.Process(other.pid).create_time()}))
        shown = cli("show", run_dir.name, "--repo", str(repo))
        assert f"still running (pid {other.pid})" in shown.stdout
        refused = cli("resume", run_dir.name, "--repo", str(repo))
        assert refused.returncode == 2 and "is still running" in refused.stderr
    finally:
        other.kill()
        other.wait()
