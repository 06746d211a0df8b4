"""The sequential side-by-side procedure itself (``loop/sidebyside``), driven by a measurer that draws recorded-
style runtimes from a seeded generator: the real looks, stopping rules and intervals, no live timing, no flakes.

The noise is the benchmark's: a runtime of 0.2 s x U(0.6, 1.4), a third of the samples slowed by up to 30%
more (another program's load), independently for each execution.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from remoroo.loop.sidebyside import MAX_SAMPLES, ceiling, measure_side_by_side
from remoroo.loop.state import Setup
from remoroo.measure.commands import CommandRun
from remoroo.measure.once import Measurement
from remoroo.model.plan import Plan
from remoroo.model.spec import parse_goal
from remoroo.model.stats import SCHEDULE, alpha_for, schedule

PLAN = Plan.model_validate({"commands": [{"name": "work", "run": "python3 work.py"}],
                            "instrumentation": [{"metric": "runtime_s", "source": "probe", "probe": "runtime_s",
                                                 "command": "work"}]})


class Drawn:
    """Each execution of ``new`` runs ``speedup`` times faster than ``old``, under the same noise."""

    def __init__(self, rng: random.Random, speedup: float, spread: float = 0.4, loaded: bool = True) -> None:
        self.rng, self.speedup, self.spread, self.loaded = rng, speedup, spread, loaded

    def measure(self, plan: Plan, metrics: list[str], tree: Path, logs: Path, *, repeats: int, deadline: float,
                first: Measurement | None = None, away: bool = False, cpus: tuple[int, ...] = ()) -> Measurement:
        load = 1 + 0.3 * self.rng.random() if self.loaded and self.rng.random() < 0.3 else 1.0
        value = 0.2 / (self.speedup if tree.name == "new" else 1.0) * load
        value *= self.rng.uniform(1 - self.spread, 1 + self.spread)
        run = CommandRun(name="work", run="python3 work.py", exit_code=0, timed_out=False, duration_s=value,
                         stdout_tail="", stderr_tail="", stdout_log="", stderr_log="")
        return Measurement(metrics={"runtime_s": value}, commands=[run], duration_s=value)


def compare(speedup: float, rng: random.Random, spread: float = 0.4, loaded: bool = True, repeats: int = 0,
            time_left_s: float = 10 ** 6, goal: str = "runtime_s < baseline runtime_s") -> tuple[bool, int]:
    setup = Setup(plan=PLAN, goal=parse_goal("faster", goal),
                  baseline=Measurement(metrics={"runtime_s": 0.2}, spread={"runtime_s": 0.04}))
    ctx = SimpleNamespace(measurer=Drawn(rng, speedup, spread, loaded),
                          budgets=SimpleNamespace(deadline=time.monotonic() + time_left_s),
                          config=SimpleNamespace(noise_rel_timing=0.10, repeats=repeats))
    paired = measure_side_by_side(ctx, setup, Path("old"), Path("new"), Path("logs"), test=1)  # type: ignore[arg-type]
    interval = paired.intervals.get("runtime_s")
    return bool(interval is not None and interval.below(1.0)), paired.executions


def test_the_looks_spend_the_alpha_once_and_a_ceiling_folds_the_later_looks_in() -> None:
    assert abs(sum(look.share for look in SCHEDULE) - 1.0) < 1e-9 and SCHEDULE[-1].size == MAX_SAMPLES
    assert [(look.size, look.method) for look in schedule(10)] == [(3, "t"), (8, "rank"), (10, "rank")]
    assert abs(schedule(10)[-1].share - 0.9) < 1e-9
    assert [(look.size, look.share) for look in schedule(3)] == [(3, 1.0)]
    assert sum(look.share for look in schedule(20)) == pytest.approx(1.0)


def test_the_ceiling_follows_the_time_left_and_the_users_repeats() -> None:
    assert ceiling(0, pair_s=0.4, time_left_s=3600) == MAX_SAMPLES
    assert ceiling(0, pair_s=10.0, time_left_s=400) == 10  # a quarter of the time left: 100 s, 10 pairs
    assert ceiling(0, pair_s=60.0, time_left_s=60) == 3  # never fewer than three a side
    assert ceiling(12, pair_s=0.01, time_left_s=3600) == 12  # the user's repeats are the ceiling


def test_no_ops_under_heavy_noise_are_almost_never_accepted_and_mostly_stop_early() -> None:
    rng = random.Random(11)
    runs = [compare(1.0, rng) for _ in range(300)]
    assert sum(kept for kept, _ in runs) <= 3  # the stated 0.5% for a run's first candidate, with slack
    assert statistics.median(n for _, n in runs) <= 2 + 2 * 32  # surely short of 1.2x by 32 a side, mostly


def test_the_benchmarks_noise_finds_1_25x_at_least_95_percent_and_gives_up_on_no_ops_early() -> None:
    """The benchmark's program exactly (+-40%, no extra load): the issue's target for 1.25x, with the cost of a
    no-op bounded. A stop on "the estimate went the wrong way" at 8 a side lost 1.25x speed-ups 7% of the time,
    futility built around 1.25x itself 3%, a last look at 64 a side (where loaded runs ended unsettled) 5%."""
    rng = random.Random(21)
    found = [compare(1.25, rng, loaded=False) for _ in range(200)]
    assert sum(kept for kept, _ in found) >= 194
    lost_early = [n for kept, n in found if not kept and n < 2 + 2 * MAX_SAMPLES]
    assert len(lost_early) <= 3  # futility gives up on at most 1.5% of them
    noops = [compare(1.0, rng, loaded=False) for _ in range(200)]
    assert sum(kept for kept, _ in noops) <= 2
    assert sum(n <= 2 + 2 * 32 for _, n in noops) >= 100  # half of them end by 32 a side


def test_a_1_25x_speed_up_under_heavy_noise_is_found_almost_always() -> None:
    rng = random.Random(12)
    found = [compare(1.25, rng) for _ in range(100)]
    assert sum(kept for kept, _ in found) >= 95  # the load adds skew and outliers; the benchmark measures it live


def test_a_2x_speed_up_is_always_found_and_soon() -> None:
    rng = random.Random(13)
    found = [compare(2.0, rng) for _ in range(60)]
    assert all(kept for kept, _ in found) and statistics.median(n for _, n in found) <= 20


def test_a_quiet_machine_settles_a_no_op_and_a_speed_up_at_the_first_look() -> None:
    rng = random.Random(14)
    quiet = [compare(1.0, rng, spread=0.01, loaded=False) for _ in range(20)] + [
        compare(1.25, rng, spread=0.01, loaded=False) for _ in range(20)]
    assert all(n == 2 + 2 * 3 for _, n in quiet)  # warm-ups and three a side: 8 executions, fewer than the old 9
    assert [kept for kept, _ in quiet] == [False] * 20 + [True] * 20


def test_a_short_time_budget_caps_the_samples() -> None:
    rng = random.Random(15)
    _, executions = compare(1.1, rng, time_left_s=4.0)  # a pair takes about 0.4 s: a quarter of 4 s is 2-3 pairs
    assert executions <= 2 + 2 * 3


def test_later_candidates_of_a_run_get_less_alpha() -> None:
    assert alpha_for(5) < alpha_for(1) / 10
