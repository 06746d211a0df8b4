"""False accepts and detection power of the side-by-side acceptance, on a loaded machine, in one run.

A background load generator of its own (one busy process per core but one, bounded in time, stopped by
PID) keeps the machine busy. A program whose whole runtime varies +-40% (``--spread`` sets it: it sleeps
``T * U(0.6, 1.4)`` less the interpreter's measured launch time, so the noise and the speed-ups are of the total
the measurer sees, not of the sleep alone) is then
compared with itself (no-op candidates) and with 1.1x, 1.25x, 1.5x and 2x faster versions of itself,
exactly as the loop compares a candidate with the kept state (``loop/sidebyside.measure_side_by_side``:
warm-up, A B B A, the exact Mann-Whitney interval, sequential looks), each candidate as the first of a run.
It prints the false-accept rate, the detection rate per speed-up, and the executions per candidate, with
the engine's former fixed repeats (9 for a command under 0.2 s) beside them.

Targets: false accepts <= 1%; 1.25x detected >= 95% of the time; 2x always; the median executions per
candidate on a quiet machine no higher than before (``--quiet --spread 0.02``: a program of ordinary noise;
a +-40% program stays noisy on any machine and needs more samples to be decided at all).

Run by hand (not in make test):
    .venv/bin/python -u benchmarks/noise_power.py [--noop 200] [--each 40] [--quiet] [--spread 0.4] [--delay 0.2]
        [--speedups 1.1 1.25 1.5 2]
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
from types import SimpleNamespace

from remoroo.loop.measurer import PlanMeasurer
from remoroo.loop.sidebyside import measure_side_by_side
from remoroo.loop.state import Setup
from remoroo.measure.commands import Environment
from remoroo.measure.once import Measurement
from remoroo.measure.shim import write_shim
from remoroo.model.plan import Plan
from remoroo.model.spec import parse_goal

DELAY = 0.2
PROGRAM = ("import random, time\n"
           "time.sleep(max(0.0, {total} * random.uniform(1 - {spread}, 1 + {spread}) - {launch}))\n")
BEFORE_REPEATS = 9  # what a candidate cost before: repeats_for() of a command under 0.2 s


def tree(root: Path, name: str, total: float, spread: float, launch: float) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "work.py").write_text(PROGRAM.format(total=total, spread=spread, launch=launch))
    return path


def launch_time(measurer: PlanMeasurer, plan: Plan, root: Path) -> float:
    """The median runtime the measurer sees for a program that does nothing (interpreter start, the runner)."""
    empty = root / "empty"
    empty.mkdir()
    (empty / "work.py").write_text("")
    times = [float(measurer.measure(plan, ["runtime_s"], empty, root / "logs" / "launch" / str(i), repeats=1,
                                    deadline=time.monotonic() + 60).metrics["runtime_s"]) for i in range(9)]
    return statistics.median(times)


def load(seconds: float) -> list[subprocess.Popen[bytes]]:
    """Busy processes on all cores but one, each ending by itself after ``seconds``."""
    busy = f"import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", busy]) for _ in range(max(1, (os.cpu_count() or 2) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--noop", type=int, default=200, help="no-op candidates")
    parser.add_argument("--each", type=int, default=40, help="candidates per speed-up")
    parser.add_argument("--quiet", action="store_true", help="no background load")
    parser.add_argument("--spread", type=float, default=0.4, help="the program's own noise: +-40%% by default")
    parser.add_argument("--delay", type=float, default=DELAY, help="the reference's typical runtime, seconds")
    parser.add_argument("--speedups", type=float, nargs="*", default=[1.1, 1.25, 1.5, 2.0],
                        help="the speed-ups measured after the no-ops")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="remoroo-noise-"))
    env = Environment(base_env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                      shim_dir=str(write_shim(root / "shim")), grace_s=0.2)
    measurer = PlanMeasurer(env, SimpleNamespace(root=root))
    plan = Plan.model_validate({"commands": [{"name": "work", "run": f"{sys.executable} work.py"}],
                                "instrumentation": [{"metric": "runtime_s", "source": "probe",
                                                     "probe": "runtime_s", "command": "work"}]})
    goal = parse_goal("faster", "runtime_s < baseline runtime_s")
    setup = Setup(plan=plan, goal=goal, baseline=Measurement(metrics={"runtime_s": args.delay},
                                                             spread={"runtime_s": args.delay * 0.2}))
    ctx = SimpleNamespace(measurer=measurer, budgets=SimpleNamespace(deadline=time.monotonic() + 10 ** 6),
                          config=SimpleNamespace(noise_rel_timing=0.10, repeats=0))
    launch = launch_time(measurer, plan, root)
    print(f"launch time {launch * 1000:.0f} ms (subtracted from the sleep); reference runtime {args.delay:g} s "
          f"+-{100 * args.spread:g}%", flush=True)
    reference = tree(root, "reference", args.delay, args.spread, launch)
    cases = [(label, s, n) for label, s, n in [("no-op", 1.0, args.noop)] +
             [(f"{s}x", s, args.each) for s in args.speedups] if n > 0]
    generators = [] if args.quiet else load(24 * 3600)
    results: dict[str, tuple[int, int, list[int]]] = {}
    started = time.monotonic()
    try:
        for label, speedup, count in cases:
            candidate = tree(root, f"cand-{label}", args.delay / speedup, args.spread, launch)
            accepted, executions = 0, []
            for i in range(count):
                paired = measure_side_by_side(ctx, setup, reference, candidate, root / "logs" / label / str(i),
                                              test=1)
                interval = paired.intervals.get("runtime_s")
                accepted += bool(interval is not None and interval.below(1.0))
                executions.append(paired.executions)
            results[label] = (accepted, count, executions)
            print(f"{label:>6}: accepted {accepted}/{count} ({100 * accepted / count:.1f}%), executions per "
                  f"candidate: median {statistics.median(executions):g} (before: {BEFORE_REPEATS}), "
                  f"max {max(executions)}", flush=True)
    finally:
        for process in generators:  # stopped by PID, whatever happened
            process.kill()
            process.wait()
    targets = {"no-op": "false accepts", "1.25x": "detected (target >= 95%)", "2.0x": "detected (target 100%)"}
    parts = []
    for label, (accepted, count, executions) in results.items():
        what = targets.get(label, "detected")
        parts.append(f"{label} {what} {100 * accepted / count:.1f}%" + (" (target <= 1%), median executions "
                     f"{statistics.median(executions):g} (before: {BEFORE_REPEATS})" if label == "no-op" else ""))
    print(f"\n{'loaded' if generators else 'quiet'} machine, {time.monotonic() - started:.0f}s: " + "; ".join(parts))


if __name__ == "__main__":
    main()
