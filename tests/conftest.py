from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]


def write_files(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def git_init(root: Path) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env, capture_output=True)


FIB = {
    "fib.py": (
        "def fib(n):\n"
        "    a, b = 0, 1\n"
        "    for _ in range(n - 1):\n"
        "        a, b = b, a + b\n"
        "    return a\n"
    ),
    "main.py": "from fib import fib\n\nprint(f'fib_10={fib(10)}')\n",
    "README.md": "# fib\n",
}

FIB_PLAN: dict[str, Any] = {
    "summary": "run main.py, read fib_10",
    "commands": [{"name": "main", "run": "python3 main.py", "timeout_s": 30}],
    "instrumentation": [{"metric": "fib_10", "source": "stdout", "command": "main", "pattern": r"fib_10=(-?\d+)"}],
    "patch_intents": [{"description": "fix the loop bound", "files": ["fib.py"]}],
}


def edit(path: str, search: str, replace: str) -> dict[str, Any]:
    return {"edits": [{"path": path, "search": search, "replace": replace}]}


@pytest.fixture
def fib_repo(tmp_path: Path) -> Path:
    repo = write_files(tmp_path / "fib", FIB)
    git_init(repo)
    return repo


@pytest.fixture
def script(tmp_path: Path):
    def make(plans: list[dict[str, Any]], patches: list[dict[str, Any]]) -> Path:
        path = tmp_path / f"brain-{len(list(tmp_path.glob('brain-*.json')))}.json"
        path.write_text(json.dumps({"format": "remoroo.scripted/1", "plans": plans, "patches": patches}))
        return path

    return make


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMOROO_")}
    return subprocess.run([sys.executable, "-m", "remoroo.cli", *args], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def marked(marker: str) -> list[psutil.Process]:
    """Live processes whose command line carries ``marker`` (pids inside the sandbox are not the host's)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if marker in " ".join(proc.info["cmdline"] or []) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def wait_marked(marker: str, count: int, timeout: float) -> list[psutil.Process]:
    """Wait until at least ``count`` processes carry ``marker`` in two scans 0.2 s apart; return them.

    One scan is not enough: a double fork passes through a moment when the middle process has exited (a
    zombie, not counted) and the scan's list of pids was taken before the grandchild existed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(marked(marker)) >= count:
            time.sleep(0.2)
            settled = marked(marker)
            if len(settled) >= count:
                return settled
        time.sleep(0.05)
    return marked(marker)


def wait_gone(marker: str, timeout: float) -> list[psutil.Process]:
    """Wait until no process carries ``marker``; return those still there."""
    deadline = time.monotonic() + timeout
    while marked(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return marked(marker)


def latest_run(repo: Path) -> Path:
    runs = sorted((repo / ".remoroo" / "runs").iterdir())
    return runs[-1]


@pytest.fixture(scope="session", autouse=True)
def every_report_has_one_parseable_outcome_line(tmp_path_factory: pytest.TempPathFactory):
    """Every final_report.md the suite produces must carry exactly one outcome line."""
    yield
    from remoroo.evidence.report import parse_outcome

    reports = list(tmp_path_factory.getbasetemp().rglob("final_report.md"))
    bad = [str(p) for p in reports if parse_outcome(p.read_text()) is None]
    assert not bad, f"reports without exactly one parseable outcome line: {bad}"
