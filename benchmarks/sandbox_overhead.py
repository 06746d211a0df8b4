"""The sandbox's cost per command execution: sandboxed against bare, side by side in one run.

Each round measures ``python3 -c pass`` three ways, in turn, so a change of load
hits all of them alike:
- bare: ``/bin/sh -c`` in its own session, as a plain subprocess;
- unsandboxed runner: the engine's runner (``--sandbox off``);
- sandboxed: the engine's runner inside bubblewrap (the default).
It prints the median of each and the median per-round differences.

    python benchmarks/sandbox_overhead.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from remoroo.exec import sandbox as sb
from remoroo.measure.commands import Environment, execute
from remoroo.measure.shim import write_shim
from remoroo.model.plan import Plan

COMMAND = "python3 -c pass"


def bare(tree: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["/bin/sh", "-c", COMMAND], cwd=tree, start_new_session=True, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def engine(plan: Plan, tree: Path, logs: Path, env: Environment) -> float:
    start = time.perf_counter()
    runs = execute(plan, tree, logs, env, time.monotonic() + 60)
    assert runs[0].exit_code == 0, runs[0].stderr_tail
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    problem = sb.check()
    if problem:
        sys.exit(f"no sandbox here: {problem}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tree, logs = root / "tree", root / "logs"
        tree.mkdir()
        shim = write_shim(root / "shim")
        plan = Plan.model_validate({"commands": [{"name": "main", "run": COMMAND}]})
        sealed = Environment(base_env=dict(os.environ), shim_dir=str(shim),
                             sandbox=sb.Sandbox(hidden=[str(root)]))
        off = sealed.model_copy(update={"sandbox": sb.Sandbox(mode="off")})
        rows: dict[str, list[float]] = {"bare": [], "runner": [], "sandboxed": []}
        for _ in range(3):  # warm-up
            bare(tree), engine(plan, tree, logs, off), engine(plan, tree, logs, sealed)
        for _ in range(args.runs):
            rows["bare"].append(bare(tree))
            rows["runner"].append(engine(plan, tree, logs, off))
            rows["sandboxed"].append(engine(plan, tree, logs, sealed))
    med = {k: statistics.median(v) * 1000 for k, v in rows.items()}
    over = statistics.median(s - b for s, b in zip(rows["sandboxed"], rows["bare"], strict=True)) * 1000
    runner = statistics.median(r - b for r, b in zip(rows["runner"], rows["bare"], strict=True)) * 1000
    print(f"command: {COMMAND!r}, {args.runs} rounds, interleaved")
    for name, value in med.items():
        print(f"  {name:<10} median {value:7.1f} ms")
    print(f"sandboxed - bare, median per round: {over:6.1f} ms per execution (target < 20 ms)")
    print(f"runner - bare (unsandboxed), median: {runner:6.1f} ms; ratio sandboxed/bare: "
          f"{med['sandboxed'] / med['bare']:.2f}")


if __name__ == "__main__":
    main()
