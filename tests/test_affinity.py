"""Pinning a timed comparison to one CPU: chosen from recorded /proc/stat readings, applied by the real runner."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import write_files

from remoroo.exec.sandbox import Sandbox
from remoroo.measure import affinity
from remoroo.measure.affinity import LoadWindow
from remoroo.measure.commands import CommandRun, Environment
from remoroo.measure.once import Measurement, measure
from remoroo.model.plan import Plan

JOB = Plan.model_validate({"commands": [{"name": "main", "run": "python3 main.py"}],
                           "instrumentation": [{"metric": "runtime_s", "source": "probe", "probe": "runtime_s"}]})
SERVICE = Plan.model_validate({
    "commands": [{"name": "server", "run": "python3 server.py", "role": "service",
                  "ready": {"kind": "log", "pattern": "up"}},
                 {"name": "client", "run": "python3 client.py"}],
    "instrumentation": [{"metric": "runtime_s", "source": "probe", "probe": "runtime_s", "command": "client"}]})


def stat(jiffies: dict[int, tuple[int, int]]) -> str:
    """``/proc/stat`` with (busy, idle) jiffies per CPU (busy as user time)."""
    total = [sum(b for b, _ in jiffies.values()), sum(i for _, i in jiffies.values())]
    lines = [f"cpu  {total[0]} 0 0 {total[1]} 0 0 0 0 0 0"]
    lines += [f"cpu{n} {b} 0 0 {i} 0 0 0 0 0 0" for n, (b, i) in sorted(jiffies.items())]
    return "\n".join(lines + ["intr 12345", "ctxt 999"]) + "\n"


def warmup(wall: float, cpu: float) -> Measurement:
    run = CommandRun(name="main", run="python3 main.py", exit_code=0, timed_out=False, duration_s=wall, cpu_s=cpu,
                     stdout_tail="", stderr_tail="", stdout_log="", stderr_log="")
    return Measurement(metrics={"runtime_s": wall}, commands=[run], duration_s=wall)


def choose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: dict[int, tuple[int, int]],
           after: dict[int, tuple[int, int]], plan: Plan = JOB, warm: tuple[float, float] = (0.2, 0.05)):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(before), raising=False)
    path = tmp_path / "stat"
    path.write_text(stat(before))
    window = LoadWindow(path)
    path.write_text(stat(after))
    return window.choose(plan, [warmup(*warm), warmup(*warm)])


def test_four_cpus_with_one_busy_pin_to_the_least_busy_other_than_cpu_0(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    before = {0: (0, 0), 1: (0, 0), 2: (0, 0), 3: (0, 0)}
    after = {0: (5, 95), 1: (100, 0), 2: (20, 80), 3: (5, 95)}  # CPU 1 busy with other work, 2 a little
    pinning = choose(tmp_path, monkeypatch, before, after)
    assert pinning.cpus == (3,) and "3 of 4 CPUs free" in pinning.why


def test_two_cpus_with_one_busy_are_not_pinned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pinning = choose(tmp_path, monkeypatch, {0: (0, 0), 1: (0, 0)}, {0: (100, 0), 1: (10, 90)})
    assert pinning.cpus == () and "1 of 2 CPUs free" in pinning.why


def test_the_measurements_own_cpu_time_is_not_other_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the warm-ups kept one CPU busy themselves: 2 x 0.5 s of CPU in a window well under a second
    pinning = choose(tmp_path, monkeypatch, {0: (0, 0), 1: (0, 0)}, {0: (100, 0), 1: (5, 95)}, warm=(0.5, 0.5))
    assert pinning.cpus == (1,)


def test_a_parallel_program_or_a_service_is_never_pinned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quiet = ({0: (0, 0), 1: (0, 0), 2: (0, 0)}, {0: (1, 99), 1: (1, 99), 2: (1, 99)})
    assert choose(tmp_path, monkeypatch, *quiet).cpus == (2,)
    parallel = choose(tmp_path, monkeypatch, *quiet, warm=(0.2, 0.7))
    assert parallel.cpus == () and "parallel program" in parallel.why
    served = choose(tmp_path, monkeypatch, *quiet, plan=SERVICE)
    assert served.cpus == () and "service" in served.why


def test_no_reading_no_pinning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    window = LoadWindow(tmp_path / "missing")
    assert window.choose(JOB, [warmup(0.2, 0.05)]).cpus == ()
    assert affinity._cpu_times(tmp_path / "missing") == {}


@pytest.mark.parametrize("mode", ["bwrap", "off"])
def test_every_process_of_a_pinned_measurement_runs_on_that_cpu(tmp_path: Path, mode: str) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    target = cpus[-1]
    write_files(tmp_path, {"main.py": "import os, subprocess, sys\nprint('mine', sorted(os.sched_getaffinity(0)))\n"
                                      "subprocess.run([sys.executable, '-c', 'import os; "
                                      "print(\"child\", sorted(os.sched_getaffinity(0)))'])\n"})
    env = Environment(base_env=dict(os.environ), shim_dir=str(Path(__file__).resolve().parents[1] / "src"),
                      grace_s=0.3, sandbox=Sandbox(mode=mode), cpus=[target])
    m = measure(JOB, ["runtime_s"], tmp_path, tmp_path / "logs", env, time.monotonic() + 30)
    out = Path(m.commands[0].stdout_log).read_text()
    assert f"mine [{target}]" in out and f"child [{target}]" in out, out
    free = measure(JOB, ["runtime_s"], tmp_path, tmp_path / "logs2", env.model_copy(update={"cpus": []}),
                   time.monotonic() + 30)
    assert f"mine {cpus}" in Path(free.commands[0].stdout_log).read_text()
