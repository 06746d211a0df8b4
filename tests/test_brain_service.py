"""The brain as a separate process over HTTP: same outcome as in-process, and nothing private sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, cli, git_init, latest_run, write_files

SECRET = "s3cr3t-value-0123456789"
FILES = {
    "fib.py": "def fib(n):\n    a, b = 0, 1\n    for _ in range(n - 1):\n        a, b = b, a + b\n    return a\n",
    "main.py": (
        "import os\nfrom fib import fib\n\n"
        "if __name__ == '__main__':\n"
        "    print('token', os.environ.get('MY_API_TOKEN'), 'cwd', os.getcwd())\n"
        "    print(f'fib_10={fib(10)}')\n"
    ),
}


@pytest.fixture
def service(tmp_path: Path):
    empty = tmp_path / "empty-cwd"
    empty.mkdir()
    log = tmp_path / "requests.ndjson"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMOROO_")}
    proc = subprocess.Popen([sys.executable, "-m", "remoroo.cli", "brain", "serve", "--brain", "search",
                             "--port", "0", "--log-requests", str(log)], cwd=empty, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, proc.stderr.read()
        url = line.strip().rsplit(" ", 1)[-1]
        yield url, log, empty
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert list(empty.iterdir()) == [], "the brain service wrote files: it must have no file access"


def repo_at(path: Path) -> Path:
    repo = write_files(path, FILES)
    git_init(repo)
    return repo


def test_served_brain_reaches_the_same_outcome_and_sees_nothing_private(tmp_path: Path, service) -> None:
    url, log, _ = service
    assert httpx.get(f"{url}/v1/health").json() == {"ok": True, "protocol": "remoroo.brain/1"}
    remote, local = repo_at(tmp_path / "remote"), repo_at(tmp_path / "local")
    env_secret = {"MY_API_TOKEN": SECRET}
    done = subprocess.run([sys.executable, "-m", "remoroo.cli", "run", str(remote), "--goal", "fix fib",
                           "--metrics", "fib_10 == 55", "--brain", url], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env_secret}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert cli("run", str(local), "--goal", "fix fib", "--metrics", "fib_10 == 55", "--brain", "search").returncode == 0
    remote_run, local_run = latest_run(remote), latest_run(local)
    assert (remote_run / "final_patch.diff").read_text() == (local_run / "final_patch.diff").read_text()
    outcome = [json.loads((r / "final_report.json").read_text())["outcome"] for r in (remote_run, local_run)]
    assert outcome == ["SUCCESS", "SUCCESS"]
    sent = log.read_text()
    assert sent.count("\n") >= 2
    # the sandbox never passes the token to the measured program, so it cannot even leak through its output
    assert SECRET not in sent and "token None" in sent
    assert str(tmp_path) not in sent and str(Path.home()) + "/" not in sent
    assert "cwd /project" in sent  # the sandbox's neutral tree path, never the user's


def test_bad_request_is_refused_and_retries_are_idempotent(service) -> None:
    url, _, _ = service
    bad = httpx.post(f"{url}/v1/brain", json={"kind": "plan"})
    assert bad.status_code == 422
    request = {"kind": "patch", "request_id": "same-id", "turn": 1,
               "goal": {"text": "g", "spec": "x == 1", "targets": ["x == 1"]},
               "context": {"files": [{"path": "main.py", "size": 10, "content": "x = 0\nprint(f'x={x}')\n"}],
                           "budget_chars": 1000},
               "plan": {"commands": [{"name": "main", "run": "python3 main.py"}]}}
    first, again = (httpx.post(f"{url}/v1/brain", json=request) for _ in range(2))
    assert first.status_code == 200 and first.text == again.text
