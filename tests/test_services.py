"""Server + client plans: readiness, ports, failures with log tails, teardown of every process."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest
from conftest import write_files

from remoroo.errors import PlanRejected
from remoroo.loop.planning import validate_plan
from remoroo.measure.once import Environment, measure
from remoroo.model.plan import Plan
from remoroo.model.spec import parse_goal

ENV = Environment(base_env=dict(os.environ), shim_dir=str(Path(__file__).resolve().parents[1] / "src"), grace_s=0.3)

SERVER = """\
import http.server, sys, time
time.sleep(float(sys.argv[2]))
OFFSET = int(sys.argv[3]) if len(sys.argv) > 3 else 0

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = str(42 + OFFSET).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

print("listening", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""
CLIENT = """\
import sys, urllib.request
print("answer=" + urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/").read().decode())
"""


def plan(server_run: str, ready: dict) -> Plan:
    return Plan.model_validate({
        "commands": [
            {"name": "server", "role": "service", "run": server_run, "ready": ready},
            {"name": "client", "run": "python3 client.py {port}", "timeout_s": 10},
        ],
        "instrumentation": [
            {"metric": "answer", "source": "stdout", "command": "client", "pattern": r"answer=(\d+)"},
            {"metric": "code_runs", "source": "probe", "probe": "code_runs"},
        ],
    })


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_files(tmp_path / "svc", {"server.py": SERVER, "client.py": CLIENT})


def nothing_left_in(root: Path) -> bool:
    time.sleep(0.1)
    for proc in psutil.process_iter():
        try:
            if str(root) in proc.cwd() and proc.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.Error:
            continue
    return True


@pytest.mark.parametrize("ready", [
    {"kind": "tcp", "port": "{port}"},
    {"kind": "http", "url": "http://127.0.0.1:{port}/"},
    {"kind": "log", "pattern": "listening"},
])
def test_service_ready_after_one_second(tree: Path, ready: dict) -> None:
    started = time.monotonic()
    m = measure(plan("python3 server.py {port} 1.0 1", ready), ["answer", "code_runs"], tree, tree / "logs", ENV,
                time.monotonic() + 60)
    assert m.metrics == {"answer": 43, "code_runs": True}, m
    server = m.commands[0]
    assert server.role == "service" and server.ready_s is not None and server.ready_s >= 1.0
    assert time.monotonic() - started < 10
    assert nothing_left_in(tree)


def test_service_that_never_becomes_ready(tree: Path) -> None:
    ready = {"kind": "tcp", "port": "{port:other}", "timeout_s": 1.5}
    m = measure(plan("python3 server.py {port} 0", ready), ["answer", "code_runs"], tree, tree / "logs", ENV,
                time.monotonic() + 60)
    assert m.metrics == {"code_runs": False}
    assert "not ready after 1.5s" in m.commands[0].failure
    assert "its stdout ends: listening" in m.commands[0].failure
    assert m.commands[1].skipped and "server" in m.commands[1].skipped
    assert any("not ready" in p for p in m.problems)
    assert nothing_left_in(tree)


def test_service_that_dies_reports_its_log_tail(tree: Path) -> None:
    crash = "python3 -c 'import sys; print(\"boom: bad config\", file=sys.stderr); sys.exit(3)'"
    m = measure(plan(crash, {"kind": "tcp", "port": "{port}"}), ["code_runs"], tree, tree / "logs", ENV,
                time.monotonic() + 60)
    failure = m.commands[0].failure
    assert "exited with code 3 before it was ready" in failure and "boom: bad config" in failure
    assert nothing_left_in(tree)


def test_services_are_torn_down_when_a_job_times_out(tree: Path) -> None:
    p = plan("python3 server.py {port} 0", {"kind": "tcp", "port": "{port}"})
    p.commands[1].run = "sleep 30"
    p.commands[1].timeout_s = 0.5
    m = measure(p, ["code_runs"], tree, tree / "logs", ENV, time.monotonic() + 60)
    assert m.commands[1].timed_out and m.metrics["code_runs"] is False
    assert nothing_left_in(tree)


def test_service_plans_are_validated(tmp_path: Path) -> None:
    goal = parse_goal("g", "answer == 42")
    bad = {"commands": [{"name": "s", "role": "service", "run": "true"}],
           "instrumentation": [{"metric": "answer", "source": "probe", "probe": "exit_code"}]}
    with pytest.raises(PlanRejected) as info:
        validate_plan(Plan.model_validate(bad), goal, tmp_path)
    text = str(info.value)
    assert "needs a readiness probe" in text and "has no job" in text
    remote = {"commands": [{"name": "s", "role": "service", "run": "true",
                            "ready": {"kind": "http", "url": "http://10.0.0.1/"}}, {"name": "j", "run": "true"}],
              "instrumentation": [{"metric": "answer", "source": "probe", "probe": "exit_code"}]}
    with pytest.raises(PlanRejected, match="127.0.0.1 or localhost"):
        validate_plan(Plan.model_validate(remote), goal, tmp_path)


def test_a_job_whose_dependency_failed_is_skipped(tmp_path: Path) -> None:
    p = Plan.model_validate({
        "commands": [{"name": "build", "run": "exit 3"}, {"name": "use", "run": "echo ran", "depends_on": ["build"]},
                     {"name": "other", "run": "echo other"}],
        "instrumentation": [{"metric": "code_runs", "source": "probe", "probe": "code_runs"}]})
    m = measure(p, ["code_runs"], tmp_path, tmp_path / "logs", ENV, time.monotonic() + 30)
    assert m.commands[1].skipped == "it depends on 'build', which failed"
    assert m.commands[2].exit_code == 0
    bad = Plan.model_validate({"commands": [{"name": "a", "run": "true", "depends_on": ["b"]},
                                            {"name": "b", "run": "true"}]})
    with pytest.raises(PlanRejected, match="depends on 'b', which is not an earlier command"):
        validate_plan(bad, parse_goal("g", "code_runs == true"), tmp_path)
