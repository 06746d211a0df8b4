"""Values to try for a tunable constant: multiplicative steps and ±1, then optuna's TPE sampler.

Past trials travel in the request's history (the rationale of each candidate
names the site and value), so the sampler is rebuilt on every call: the
brain keeps no state, and the same history gives the same suggestions.
"""

from __future__ import annotations

import math


def step_values(value: float, is_int: bool) -> list[float]:
    if is_int:
        candidates = [value + 1, value - 1, value * 2, math.floor(value / 2)]
    else:
        candidates = [value * 10, value / 10, value * 2, value / 2]
    out: list[float] = []
    for v in candidates:
        v = float(f"{v:.6g}")
        if v != value and v not in out:
            out.append(v)
    return out


def optuna_values(trials: list[tuple[float, float]], is_int: bool, count: int, seed: int) -> list[float]:
    """``count`` suggestions from TPE given (value, objective) trials, lower objective better."""
    if count <= 0 or len(trials) < 2:
        return []
    import optuna
    from optuna.distributions import FloatDistribution, IntDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    values = [v for v, _ in trials]
    low, high = min(values), max(values)
    positive = low > 0
    if positive:
        low, high = low / 10, high * 10
    else:
        span = max(high - low, 1.0)
        low, high = low - span, high + span
    dist: IntDistribution | FloatDistribution
    if is_int:
        dist = IntDistribution(int(math.floor(low)), max(int(math.ceil(high)), int(math.floor(low)) + 1),
                               log=positive and low >= 1)
    else:
        dist = FloatDistribution(low, high, log=positive)
    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=2))
    for value, objective in trials:
        if dist.low <= value <= dist.high and math.isfinite(objective):
            study.add_trial(optuna.trial.create_trial(params={"x": int(value) if is_int else value},
                                                      distributions={"x": dist}, value=objective))
    out: list[float] = []
    for _ in range(count * 3):
        suggestion = float(study.ask({"x": dist}).params["x"])
        suggestion = float(f"{suggestion:.3g}")
        if suggestion not in out and suggestion not in values:
            out.append(suggestion)
        if len(out) == count:
            break
    return out
