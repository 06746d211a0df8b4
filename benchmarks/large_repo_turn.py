"""The engine's own time per turn on a generated 2,000-file repository, beside the command's time.

The repository: ``--files`` Python modules in nested packages (each a few
functions that import one another), plus ``main.py`` whose score needs a constant
tuned. It runs through the real CLI (search brain, ``--turns`` turns); from the
ledger, each turn's wall time (from one ``turn`` event to the next) beside the
time its commands took. Target (issue 19): under 1 s of the engine's own work
per turn.

    .venv/bin/python benchmarks/large_repo_turn.py [--files 2000] [--turns 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAIN = """from pkg0.mod0 import helper0

GAIN = 1.0


def score(gain):
    return 3 * gain + helper0(0) * 0


if __name__ == "__main__":
    print(f"score={score(GAIN)}")
"""


def generate(repo: Path, files: int) -> None:
    for i in range(files):
        package = repo / f"pkg{i // 50}"
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
        other = f"from pkg{(i + 1) // 50 % max(1, files // 50)}.mod{(i + 1) % 50} import helper{(i + 1) % 50}\n" \
            if i % 7 == 0 else ""
        (package / f"mod{i % 50}.py").write_text(
            f"{other}\n\ndef helper{i % 50}(x):\n    return x + {i}\n\n\ndef unused{i}(y):\n"
            f"    total = 0\n    for k in range(y):\n        total += k * {i % 5}\n    return total\n")
    (repo / "main.py").write_text(MAIN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="remoroo-large-"))
    try:
        repo = tmp / "repo"
        generate(repo, args.files)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "remoroo.cli", "run", str(repo), "--goal", "raise the score",
                        "--metrics", "score >= 1000", "--brain", "search", "--max-turns", str(args.turns), "--yes"],
                       capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - started
        run_dir = max((repo / ".remoroo" / "runs").iterdir())
        events = [json.loads(line) for line in (run_dir / "events.ndjson").read_text().splitlines()]
        marks = [e for e in events if e["event"] in ("baseline", "turn")]
        print(f"{args.files} files; run wall time {wall:.1f}s; baseline done after "
              f"{marks[0]['ts'] - events[0]['ts']:.1f}s")
        for before, turn in zip(marks, marks[1:], strict=False):
            commands = sum(c["duration_s"] for e in events if e["event"] == "candidate" and e["turn"] == turn["turn"]
                           for c in e.get("commands", []))
            took = turn["ts"] - before["ts"]
            print(f"turn {turn['turn']}: {took:.2f}s, of which commands {commands:.2f}s (candidates measured two at a "
                  f"time); the engine's own work about {max(0.0, took - commands / 2):.2f}s (target < 1 s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
