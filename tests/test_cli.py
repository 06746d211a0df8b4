"""The installed console script, as a new user runs it: usage errors are one message and exit 2, never a
traceback; --version works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "remoroo"


def script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_the_console_script_is_installed_and_tells_its_version() -> None:
    done = script("--version")
    assert done.returncode == 0 and done.stdout.startswith("remoroo ") and done.stdout.split()[1][0].isdigit()


@pytest.mark.parametrize("args, says", [
    (["run", "--bogus"], "No such option: --bogus"),
    (["run", "--max-turns", "abc"], "Invalid value for '--max-turns'"),
    (["bogus"], "No such command 'bogus'"),
    (["resume", "nope", "--repo", "/nonexistent-remoroo-repo"], "No run in /nonexistent-remoroo-repo"),
    (["run", "--goal", "g", "--metrics", "fib_10 ==", "/tmp"], "has no value after"),
    (["run", "--goal", "g", "--metrics", "x == 1", "--store", "ftp://x", "/tmp"], "s3://BUCKET/PREFIX"),
])
def test_every_usage_error_is_one_message_and_exit_2(args: list[str], says: str) -> None:
    done = script(*args)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    assert says in done.stdout + done.stderr


def test_runs_are_found_anywhere_under_the_current_folder(tmp_path: Path) -> None:
    import json
    import shutil

    from conftest import FIB, FIB_PLAN, edit, write_files

    checkout = tmp_path / "checkout"
    for name in ("one", "two"):
        repo = write_files(checkout / "examples" / name / "repo", FIB)
        brain = tmp_path / f"{name}.json"
        fix = edit("fib.py", "    for _ in range(n - 1):\n", "    for _ in range(n):\n")
        brain.write_text(json.dumps({"plans": [FIB_PLAN], "patches": [fix]}))
        done = script("run", str(repo), "--goal", "fix fib", "--metrics", "fib_10 == 55", "--brain",
                      f"scripted:{brain}", "--yes")
        assert done.returncode == 0, done.stderr

    def here(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60, cwd=checkout,
                              stdin=subprocess.DEVNULL)

    listed = here("runs", "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["outcome"] for r in rows] == ["SUCCESS", "SUCCESS"] and {Path(r["repo"]).parent.name for r in rows} == {
        "one", "two"}
    newest = rows[-1]["id"]
    shown = here("show", "latest")
    assert shown.returncode == 0 and f"run {newest}: SUCCESS" in shown.stdout
    assert here("show", newest[:22]).returncode == 0  # a unique prefix is enough
    ambiguous = here("show", "20")  # both ids start with the year
    assert ambiguous.returncode == 2 and "matches 2 runs" in ambiguous.stderr
    diff = here("diff", "latest")
    assert diff.returncode == 0 and "+    for _ in range(n):" in diff.stdout
    assert here("diff", "latest", "--turn", "1").stdout == diff.stdout
    assert here("diff", "latest", "--turn", "7").returncode == 2
    # apply goes to the run's own repository, found from the checkout root
    applied = here("apply", "latest")
    assert applied.returncode == 0, applied.stderr
    target = Path(rows[-1]["repo"]) / "fib.py"
    assert "range(n):" in target.read_text()
    shutil.rmtree(checkout)


def test_help_shows_flags_as_flags() -> None:
    done = script("run", "--help")
    assert done.returncode == 0 and "<bool>" not in done.stdout
    assert "-y, --yes" in done.stdout and "--keep-work" in done.stdout


def test_a_terminal_gets_a_live_panel_and_a_pipe_gets_plain_lines(tmp_path: Path) -> None:
    import os
    import pty
    import shutil

    examples = Path(__file__).resolve().parents[1] / "examples"
    case = tmp_path / "fib_fix"
    shutil.copytree(examples / "fib_fix", case, ignore=shutil.ignore_patterns(".remoroo"))
    args = [str(SCRIPT), "run", "--case", str(case / "case.json"), "--brain", "search", "--yes"]
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower,
                            env={**os.environ, "COLUMNS": "120", "TERM": "xterm"})
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    text = seen.decode("utf-8", "replace")
    assert "turn 1/" in text and "best so far" in text and "elapsed" in text
    piped = subprocess.run(args, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert piped.returncode == 0 and "best so far" not in piped.stderr and "baseline: fib_10=34" in piped.stderr


def test_the_installed_versions_are_the_tested_ones() -> None:
    from importlib.metadata import PackageNotFoundError, version

    pins = [line.split("==") for line in (Path(__file__).resolve().parents[1] / "constraints.txt").read_text()
            .splitlines() if line and not line.startswith("#")]
    assert any(name.lower() == "typer" for name, _ in pins) and any(name.lower() == "pydantic" for name, _ in pins)
    drift = []
    for name, pinned in pins:
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue  # a pin for another platform's extra
        if installed != pinned:
            drift.append(f"{name} {installed} (pinned {pinned})")
    assert not drift, f"installed versions differ from constraints.txt: {drift}; run make lock or reinstall"
