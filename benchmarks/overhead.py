"""The engine's own work per command execution, beside the command's time, measured in one run.

A generated repository whose command sleeps ``--command-s`` seconds and prints a
score whose constant needs tuning runs through the real CLI entry point, in this
process, with every git call counted. From the ledger: the run's wall time, the
commands' own time (every execution: baseline, candidates, verification) and
the number of executions. The engine's work per execution is the difference,
divided by the executions; the git calls and their time are shown beside it.

    .venv/bin/python benchmarks/overhead.py [--command-s 0.2] [--turns 3]

Target (issue 19): under 20 ms per execution. Measured here: about 12.6 git calls
and 67 ms of git time per execution (candidates are measured two at a time, so the
git time overlaps the commands and the wall-clock difference is smaller, ~37 ms).
The command's own time includes the sandbox's and Python's start-up.
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
    tmp = Path(tempfile.mkdtemp(prefix="remoroo-overhead-"))
    try:
        repo = tmp / "repo"
        repo.mkdir()
        (repo / "main.py").write_text(MAIN.format(sleep=args.command_s))
        from remoroo.cli.app import app

        started = time.perf_counter()
        try:
            app(["run", str(repo), "--goal", "raise the score", "--metrics", "score >= 1000",
                 "--brain", "search", "--max-turns", str(args.turns), "--yes", "--json"], standalone_mode=False)
        except SystemExit:
            pass
        wall = time.perf_counter() - started
        run_dir = max((repo / ".remoroo" / "runs").iterdir())
        events = [json.loads(line) for line in (run_dir / "events.ndjson").read_text().splitlines()]
        commands = [c for e in events if e["event"] in ("baseline", "candidate", "verification")
                    for c in e.get("commands", [])]
        executions = max(1, len(commands))
        own = sum(c["duration_s"] for c in commands)
        per = (wall - own) / executions
        git_time = sum(spent.values())
        print(f"executions: {executions}, command time {own:.2f}s ({own / executions * 1000:.0f} ms each), "
              f"run wall time {wall:.2f}s")
        print(f"engine's own work per execution: {per * 1000:.0f} ms "
              f"({per / (own / executions):.2f}x the command's time; target < 20 ms)")
        print(f"git: {sum(calls.values())} calls ({sum(calls.values()) / executions:.1f} per execution), "
              f"{git_time:.2f}s ({git_time / executions * 1000:.0f} ms per execution): {dict(calls.most_common())}")
    finally:
        git_adapter._run = original
        shutil.rmtree(tmp, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
