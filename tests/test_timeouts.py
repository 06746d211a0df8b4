"""Command timeouts follow the program: generous for the baseline, then a multiple of what it took."""

from __future__ import annotations

from pathlib import Path

from remoroo.loop.timeouts import baseline_ceiling, fitted, hung_baseline
from remoroo.measure.commands import CommandRun
from remoroo.measure.once import Measurement
from remoroo.model.budgets import Budgets
from remoroo.model.config import build_config
from remoroo.model.plan import Plan


def config(tmp_path: Path, **cli: object):
    return build_config(tmp_path, {"goal": "g", "metrics": "x == 1", **cli}, {})


def run(name: str, seconds: float, timed_out: bool = False, role: str = "job") -> CommandRun:
    return CommandRun(name=name, run="x", role=role, exit_code=None if timed_out else 0, timed_out=timed_out,
                      duration_s=seconds, stdout_tail="", stderr_tail="", stdout_log="", stderr_log="")


PLAN = Plan.model_validate({"commands": [
    {"name": "server", "run": "python3 s.py", "role": "service", "timeout_s": 150,
     "ready": {"kind": "tcp", "port": "{port}"}},
    {"name": "main", "run": "python3 train.py", "timeout_s": 150},
    {"name": "tests", "run": "python3 -m pytest", "timeout_s": 150}]})


def test_a_case_that_allows_300s_is_not_killed_at_60s(tmp_path: Path) -> None:
    assert baseline_ceiling(config(tmp_path, timeout_s=300), Budgets(timeout_s=300)) == 150
    assert baseline_ceiling(config(tmp_path, timeout_s=60), Budgets(timeout_s=60)) == 60  # never below the default
    # a user who bounds commands is obeyed, the baseline included
    assert baseline_ceiling(config(tmp_path, timeout_s=300, command_timeout_s=5), Budgets(timeout_s=300)) == 5


def test_after_the_baseline_each_job_gets_a_multiple_of_its_own_time() -> None:
    measured = Measurement(commands=[run("server", 40.0, role="service"), run("main", 100.0), run("tests", 2.0)])
    plan, changed = fitted(PLAN, measured)
    limits = {c.name: c.timeout_s for c in plan.commands}
    assert limits == {"server": 150, "main": 150, "tests": 16.0}  # 3 x 2 s + 10 s; never more than it had
    assert changed == {"tests": 16.0}
    hung = Measurement(commands=[run("main", 150.0, timed_out=True)])
    assert fitted(PLAN, hung)[1] == {}  # a job that did not finish keeps its timeout


def test_a_baseline_that_cannot_finish_is_a_clear_fail(tmp_path: Path) -> None:
    hung = Measurement(commands=[run("main", 150.0, timed_out=True)])
    why = hung_baseline(config(tmp_path, timeout_s=300), PLAN, hung)
    assert why is not None and "'main' after 150s" in why and "--command-timeout" in why
    # a plan or a user that bounds the command tightly expects the hang: the run goes on to repair it
    short = Plan.model_validate({"commands": [{"name": "main", "run": "python3 loop.py", "timeout_s": 3}]})
    assert hung_baseline(config(tmp_path), short, Measurement(commands=[run("main", 3.0, timed_out=True)])) is None
    assert hung_baseline(config(tmp_path, command_timeout_s=200), PLAN, hung) is None
    assert hung_baseline(config(tmp_path), PLAN, Measurement(commands=[run("main", 1.0)])) is None
