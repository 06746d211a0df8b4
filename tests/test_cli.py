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
    (["resume", "nope", "--repo", "/nonexistent-remoroo-repo"], "No run 'nope'"),
    (["run", "--goal", "g", "--metrics", "fib_10 ==", "/tmp"], "has no value after"),
    (["run", "--goal", "g", "--metrics", "x == 1", "--store", "ftp://x", "/tmp"], "s3://BUCKET/PREFIX"),
])
def test_every_usage_error_is_one_message_and_exit_2(args: list[str], says: str) -> None:
    done = script(*args)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    assert says in done.stdout + done.stderr
