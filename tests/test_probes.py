"""Engine probes: peak memory of the process tree, JUnit test counts, coverage, determinism."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from conftest import write_files

from remoroo.measure.commands import Environment
from remoroo.measure.once import measure
from remoroo.measure.repeat import measure_repeated
from remoroo.model.plan import Plan

ENV = Environment(base_env=dict(os.environ), shim_dir=str(Path(__file__).resolve().parents[1] / "src"), grace_s=0.3)


def run(tree: Path, commands: list[dict], instrumentation: list[dict], repeats: int = 1):
    plan = Plan.model_validate({"commands": commands, "instrumentation": instrumentation})
    names = [i["metric"] for i in instrumentation]
    deadline = time.monotonic() + 120
    return measure_repeated(lambda logs: measure(plan, names, tree, logs, ENV, deadline), tree / "logs", repeats,
                            deadline)


def test_peak_memory_counts_the_whole_tree(tmp_path: Path) -> None:
    child = "import time\nblock = bytearray(120 * 2**20)\nblock[::4096] = b'x' * len(block[::4096])\ntime.sleep(1.0)\n"
    write_files(tmp_path, {"child.py": child, "parent.py": (
        "import subprocess, sys\n"
        "procs = [subprocess.Popen([sys.executable, 'child.py']) for _ in range(2)]\n"
        "[p.wait() for p in procs]\n")})
    m = run(tmp_path, [{"name": "main", "run": f"{sys.executable} parent.py"}],
            [{"metric": "peak_memory_mb", "source": "probe", "probe": "peak_memory_mb", "command": "main"}])
    assert m.metrics["peak_memory_mb"] >= 240, m.metrics


def test_tests_probes_read_junit_xml(tmp_path: Path) -> None:
    write_files(tmp_path, {"test_math.py": (
        "def test_ok():\n    assert 1 + 1 == 2\n\n\ndef test_bad():\n    assert 1 == 2\n"
        "\n\ndef test_ok2():\n    assert True\n")})
    cmd = f"{sys.executable} -m pytest -q -p no:cacheprovider --junitxml=out/junit.xml"
    probes = [{"metric": m, "source": "probe", "probe": m, "command": "tests", "path": "out/junit.xml"}
              for m in ("tests_passed", "tests_failed", "tests_pass")]
    m = run(tmp_path, [{"name": "tests", "run": cmd}], probes)
    assert (m.metrics["tests_passed"], m.metrics["tests_failed"], m.metrics["tests_pass"]) == (2, 1, False)


def test_coverage_probe_reads_coverage_json(tmp_path: Path) -> None:
    write_files(tmp_path, {"lib.py": "def f(x):\n    if x:\n        return 1\n    return 2\n",
                           "main.py": "from lib import f\nf(1)\n"})
    cmd = (f"{sys.executable} -m coverage run --include=lib.py main.py && "
           f"{sys.executable} -m coverage json -o cov.json -q")
    m = run(tmp_path, [{"name": "cov", "run": cmd}],
            [{"metric": "coverage", "source": "probe", "probe": "coverage", "command": "cov", "path": "cov.json"}])
    assert 50 < m.metrics["coverage"] < 100


def test_deterministic_compares_two_runs(tmp_path: Path) -> None:
    write_files(tmp_path, {"fixed.py": "print('x=42')\n",
                           "random_.py": "import random\nprint(f'x={random.random()}')\n"})
    for script, expected in (("fixed.py", True), ("random_.py", False)):
        m = run(tmp_path, [{"name": "main", "run": f"{sys.executable} {script}"}], [
            {"metric": "x", "source": "stdout", "command": "main", "pattern": r"x=([\d.]+)"},
            {"metric": "deterministic", "source": "probe", "probe": "deterministic"}], repeats=2)
        assert m.metrics["deterministic"] is expected, (script, m)
