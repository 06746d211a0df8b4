"""The engine's own work per command execution, beside the command's time, measured in one run.

A generated repository whose command sleeps ``--command-s`` seconds and prints a
score whose constant needs tuning runs through the real CLI entry point, in this
process, with every git call counted. From the ledger: the run's time (from
``run_started`` to ``run_finished``), the commands' own time (every execution:
baseline, candidates, verification) and the number of executions; the brain calls
and the sandbox's launch are timed apart. The engine's work per execution is the
difference, divided by the executions (with one worker, so that no command hides
the engine's work); the git calls and their time are shown beside it. Start-up
(imports, CLI, index) and the report are printed apart.

    .venv/bin/python benchmarks/overhead.py [--command-s 0.2] [--turns 3] [--workers 1]

Target (issue 19): under 20 ms per execution. The command's own time includes the
sandbox's and Python's start-up.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import remoroo.exec.git as git_adapter
import remoroo.measure.commands as commands_module
from remoroo.protocol.client import BrainClient

MAIN = """import time

GAIN = 1.0


def score(gain):
    return 3 * gain


if __name__ == "__main__":
    time.sleep({sleep})
    print(f"score={{score(GAIN)}}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command-s", type=float, default=0.2)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="candidates measured at once (1: the engine's own "
                        "work is the wall time not spent in commands; with more, commands overlap and hide it)")
    args = parser.parse_args()
    calls: collections.Counter[str] = collections.Counter()
    spent: collections.Counter[str] = collections.Counter()
    original = git_adapter._run

    def traced(repo, argv, *rest, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        start = time.perf_counter()
        try:
            return original(repo, argv, *rest, **kw)
        finally:
            calls[argv[0]] += 1
            spent[argv[0]] += time.perf_counter() - start

    git_adapter._run = traced
    brain_s = [0.0]
    launch_s = [0.0]
    original_call, original_launch = BrainClient._call, commands_module._launch

    def timed_call(self, request):  # noqa: ANN001, ANN202
        start = time.perf_counter()
        try:
            return original_call(self, request)
        finally:
            brain_s[0] += time.perf_counter() - start

    def timed_launch(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        start = time.perf_counter()
        try:
            return original_launch(*args, **kw)
        finally:
            launch_s[0] += time.perf_counter() - start

    BrainClient._call = timed_call  # type: ignore[method-assign]
    commands_module._launch = timed_launch
    tmp = Path(tempfile.mkdtemp(prefix="remoroo-overhead-"))
    try:
        repo = tmp / "repo"
        repo.mkdir()
        (repo / "main.py").write_text(MAIN.format(sleep=args.command_s))
        from remoroo.cli.app import app

        started_at = time.time()
        try:
            app(["run", str(repo), "--goal", "raise the score", "--metrics", "score >= 1000", "--brain", "search",
                 "--max-turns", str(args.turns), "--workers", str(args.workers), "--yes", "--json"],
                standalone_mode=False)
        except SystemExit:
            pass
        finished_at = time.time()
        run_dir = max((repo / ".remoroo" / "runs").iterdir())
        events = [json.loads(line) for line in (run_dir / "events.ndjson").read_text().splitlines()]
        commands = [c for e in events if e["event"] in ("baseline", "candidate", "verification")
                    for c in e.get("commands", [])]
        executions = max(1, len(commands))
        own = sum(c["duration_s"] for c in commands)
        first = next(e["ts"] for e in events if e["event"] == "run_started")
        last = next(e["ts"] for e in reversed(events) if e["event"] == "run_finished")
        run_s = last - first
        per = (run_s - own - brain_s[0]) / executions
        launch = (launch_s[0] - own) / executions
        git_time = sum(spent.values())
        print(f"executions: {executions}, command time {own:.2f}s ({own / executions * 1000:.0f} ms each)")
        print(f"run (run_started to run_finished) {run_s:.2f}s; before it (imports, CLI, goal, index) "
              f"{first - started_at:.2f}s; after it (report) {finished_at - last:.2f}s")
        print(f"brain calls {brain_s[0]:.2f}s (the brain's thinking, not the engine's work)")
        print(f"engine's own work per execution: {per * 1000:.0f} ms "
              f"({per / (own / executions):.2f}x the command's time; target < 20 ms), of which "
              f"{launch * 1000:.0f} ms starting and ending the sandbox and its runner")
        print(f"git: {sum(calls.values())} calls ({sum(calls.values()) / executions:.1f} per execution), "
              f"{git_time:.2f}s ({git_time / executions * 1000:.0f} ms per execution): {dict(calls.most_common())}")
    finally:
        git_adapter._run = original
        BrainClient._call = original_call  # type: ignore[method-assign]
        commands_module._launch = original_launch
        shutil.rmtree(tmp, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
