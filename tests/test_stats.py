"""The statistics of acceptance, on recorded samples: no live timing, so these tests cannot flake."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from remoroo.model.decide import Noise, SideBySide, final_outcome, is_met, judge_candidate
from remoroo.model.spec import parse_goal
from remoroo.model.stats import (
    RUN_ALPHA,
    Interval,
    _u_cdf,
    alpha_for,
    min_samples,
    rank_interval,
    ratio_interval,
    t_quantile,
)

# recorded runtimes (s) of one program on a 2-core machine, one core busy with another program
LOADED_NOOP_OLD = [0.698, 0.741, 0.655, 0.812, 0.702, 0.690, 0.779, 0.633, 0.724, 0.701]
LOADED_NOOP_NEW = [0.688, 0.760, 0.671, 0.799, 0.711, 0.642, 0.803, 0.667, 0.716, 0.733]
# the same program with a repeated computation reused (a real 2x speed-up), measured side by side
LOADED_FAST_NEW = [0.362, 0.341, 0.398, 0.355, 0.371, 0.349, 0.409, 0.336, 0.377, 0.352]
# a load spike (a backup started) hit both states halfway through, interleaved A B B A
SPIKE_OLD = [0.31, 0.30, 0.32, 0.31, 0.30, 0.62, 0.65, 0.61, 0.64, 0.63]
SPIKE_NEW = [0.30, 0.31, 0.31, 0.32, 0.31, 0.63, 0.61, 0.66, 0.62, 0.64]


def test_the_u_distribution_is_exact() -> None:
    for m, n in ((3, 4), (5, 5), (2, 7)):
        counts = [0] * (m * n + 1)
        for chosen in itertools.combinations(range(m + n), m):  # every arrangement of the two samples
            u = sum(1 for i in chosen for j in set(range(m + n)) - set(chosen) if j < i)
            counts[u] += 1
        total = math.comb(m + n, m)
        expected = list(itertools.accumulate(c / total for c in counts))
        assert all(math.isclose(a, b) for a, b in zip(_u_cdf(m, n), expected, strict=True))


def test_a_loaded_no_op_is_not_a_change() -> None:
    interval = ratio_interval(LOADED_NOOP_OLD, LOADED_NOOP_NEW, alpha_for(1) / 4)
    assert interval is not None and interval.lo < 1 < interval.hi


def test_a_real_2x_speed_up_under_load_is_beyond_doubt() -> None:
    interval = ratio_interval(LOADED_NOOP_OLD, LOADED_FAST_NEW, alpha_for(1) / 4)
    assert interval is not None and interval.below(1.0) and 0.45 < interval.ratio < 0.55
    assert interval.below(0.6) and not interval.below(0.45)


def test_a_load_spike_that_hits_both_states_is_not_a_change() -> None:
    interval = ratio_interval(SPIKE_OLD, SPIKE_NEW, alpha_for(1) / 4)
    assert interval is not None and interval.lo < 1 < interval.hi


def test_too_few_samples_give_no_interval_rather_than_a_wrong_one() -> None:
    alpha = alpha_for(1) / 4
    n = min_samples(alpha)
    old = [1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 1.02, 0.98, 1.01, 0.99][:n]
    assert rank_interval(old[: n - 1], [0.5] * (n - 1), alpha) is None
    assert rank_interval(old, [0.5] * n, alpha) is not None
    assert ratio_interval(old[:2], [0.5, 0.5], alpha) is None  # below three a side, nothing at all
    assert ratio_interval([0.0, 1.0, 1.0], [1.0, 1.0, 1.0], 0.2) is None  # a ratio to zero means nothing


def test_a_quiet_machine_settles_a_clear_change_from_three_samples() -> None:
    alpha = alpha_for(1) / 4
    quiet_old, quiet_new = [0.301, 0.303, 0.302], [0.151, 0.150, 0.152]
    interval = ratio_interval(quiet_old, quiet_new, alpha)
    assert interval is not None and interval.below(1.0) and interval.method.startswith("Welch")
    # the same three samples a side on a loaded machine settle nothing
    loaded = ratio_interval(LOADED_NOOP_OLD[:3], LOADED_FAST_NEW[:1] + LOADED_NOOP_NEW[:2], alpha)
    assert loaded is not None and not loaded.below(1.0)


def test_welch_t_quantiles_are_right() -> None:
    for p, df, expected in ((0.975, 10, 2.228), (0.995, 3, 5.841), (0.999, 30, 3.385), (0.975, 1e6, 1.960)):
        assert math.isclose(t_quantile(p, df), expected, abs_tol=1e-3)


def test_the_run_spends_at_most_its_alpha_over_any_number_of_candidates() -> None:
    assert sum(alpha_for(k) for k in range(1, 100_000)) < RUN_ALPHA
    assert alpha_for(2) < alpha_for(1)


def test_false_accepts_and_power_on_simulated_noise() -> None:
    rng = random.Random(7)  # fixed: the same samples every time

    def noisy(scale: float, n: int) -> list[float]:
        return [scale * rng.uniform(0.6, 1.4) for _ in range(n)]

    alpha = alpha_for(1) / 4
    false = sum(bool((iv := ratio_interval(noisy(1, n), noisy(1, n), alpha)) and iv.below(1.0))
                for _ in range(700) for n in (3, 7, 13))
    assert false / 2100 <= alpha * 2  # calibrated: no more than its stated error rate (with sampling slack)
    found = sum(bool((iv := ratio_interval(noisy(1, 12), noisy(0.5, 12), alpha)) and iv.below(1.0))
                for _ in range(300))
    assert found / 300 >= 0.99


def relative(value_interval: tuple[float, float]) -> Interval:
    lo, hi = value_interval
    return Interval(ratio=(lo + hi) / 2, lo=lo, hi=hi, n_ref=10, n_new=10, level=0.99)


def test_relative_targets_scale_their_uncertainty() -> None:
    goal = parse_goal("faster", "runtime_s <= 0.5 * baseline runtime_s")
    target, base = goal.targets[0], {"runtime_s": 0.311}
    # a real 3.2x speed-up (98 ms on 311 ms) meets a 2x target: the interval of the ratio is wholly below 0.5
    assert is_met(target, {"runtime_s": 0.098}, base, Noise(floors={"runtime_s": 0.079}),
                  {"runtime_s": relative((0.28, 0.36))})
    # a ratio whose interval straddles 0.5 does not, whatever its median
    assert not is_met(target, {"runtime_s": 0.15}, base, Noise(), {"runtime_s": relative((0.45, 0.55))})


def test_side_by_side_decides_noisy_metrics_and_exact_ones_stay_exact() -> None:
    goal = parse_goal("faster, same answer", "runtime_s < baseline runtime_s, answer == 42")
    base = {"runtime_s": 0.7, "answer": 42}
    faster = SideBySide(new_vs_base={"runtime_s": relative((0.48, 0.55))},
                        new_vs_old={"runtime_s": relative((0.48, 0.55))})
    kept = judge_candidate(goal, base, True, {"runtime_s": 0.36, "answer": 42}, True, base, Noise(), faster)
    assert kept.decision == "KEPT"
    unsure = SideBySide(new_vs_base={"runtime_s": relative((0.9, 1.05))},
                        new_vs_old={"runtime_s": relative((0.9, 1.05))})
    # the median looks 20% faster, but the interval says it may be no change at all
    assert judge_candidate(goal, base, True, {"runtime_s": 0.56, "answer": 42}, True, base, Noise(),
                           unsure).decision == "REVERTED"
    wrong = judge_candidate(goal, base, True, {"runtime_s": 0.36, "answer": 41}, True, base, Noise(), faster)
    assert wrong.decision == "REVERTED"  # the exact metric broke: no interval can make up for it
    outcome, _ = final_outcome(goal, base, {"runtime_s": 0.36, "answer": 42}, True, Noise(),
                               {"runtime_s": relative((0.48, 0.55))})
    assert outcome == "SUCCESS"


@pytest.mark.parametrize("k", [1, 5, 20])
def test_later_candidates_need_more_samples(k: int) -> None:
    assert min_samples(alpha_for(k) / 4) >= min_samples(alpha_for(1) / 4)
