"""Calibrated comparison of two noisy samples: a distribution-free interval for the ratio of their typical values.

Timings and memory are compared as a *ratio* (candidate / reference), on the
log scale, with the Hodges-Lehmann estimate of the shift and its exact
Mann-Whitney confidence interval: the interval is built from the pairwise
differences ``log b_i - log a_j`` and the exact null distribution of the
U statistic, so it holds at its stated level for any continuous noise, skewed
and heavy-tailed included, without assuming normality. A change counts only
when the whole interval lies beyond "no change" (or beyond the target), at an
error rate ``alpha`` that the run spends across its candidates
(:func:`alpha_for`), so the false-accept rate of a whole run stays bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field

RUN_ALPHA = 0.01  # the chance, over a whole run, of keeping any no-op because of noise
Method = Literal["rank", "t"]


class Interval(BaseModel):
    """The ratio of the candidate's typical value to the reference's, with its confidence interval."""

    ratio: float
    lo: float
    hi: float
    n_ref: int
    n_new: int
    level: float = Field(description="Confidence of the interval, 1 - 2 * (one-sided alpha).")
    method: str = "Hodges-Lehmann ratio, exact Mann-Whitney interval"

    def below(self, bound: float) -> bool:
        """The whole interval is under ``bound`` (a ratio): smaller beyond doubt."""
        return self.hi < bound

    def above(self, bound: float) -> bool:
        return self.lo > bound

    def scaled(self, other: Interval) -> Interval:
        """This ratio times ``other`` (candidate/kept x kept/baseline = candidate/baseline), conservatively."""
        return Interval(ratio=self.ratio * other.ratio, lo=self.lo * other.lo, hi=self.hi * other.hi,
                        n_ref=min(self.n_ref, other.n_ref), n_new=self.n_new, level=min(self.level, other.level),
                        method=self.method + ", chained through the kept state")


def alpha_for(candidate: int, run_alpha: float = RUN_ALPHA) -> float:
    """The one-sided error rate for the ``candidate``-th statistical test of a run (1-based).

    ``run_alpha / (k (k + 1))`` sums to ``run_alpha`` over every candidate a run may ever test: the chance
    that noise alone keeps any candidate of the run is at most ``run_alpha``.
    """
    k = max(1, candidate)
    return run_alpha / (k * (k + 1))


@lru_cache(maxsize=512)
def _u_cdf(m: int, n: int) -> tuple[float, ...]:
    """P(U <= u) for u = 0..m*n under the null hypothesis (no shift), exactly (counts of rank arrangements)."""
    # ways[i][j][u]: arrangements of i and j items with statistic u, built one item at a time
    prev = [[1] + [0] * (m * n) for _ in range(n + 1)]  # i = 0
    for i in range(1, m + 1):
        row = [[0] * (m * n + 1) for _ in range(n + 1)]
        row[0][0] = 1
        for j in range(1, n + 1):
            above, left = prev[j], row[j - 1]
            here = row[j]
            for u in range(i * j + 1):
                here[u] = (above[u - j] if u >= j else 0) + left[u]
        prev = row
    counts = prev[n]
    total = math.comb(m + n, m)
    cdf, running = [], 0
    for c in counts:
        running += c
        cdf.append(running / total)
    return tuple(cdf)


def _rank(m: int, n: int, alpha: float) -> int | None:
    """The largest k with P(U < k) <= alpha (so [d_(k), d_(mn+1-k)] covers at 1 - 2 alpha); None: too few."""
    if m * n > 40_000:  # large samples: the normal approximation of U
        z = _z(alpha)
        k = int(math.floor(m * n / 2 - z * math.sqrt(m * n * (m + n + 1) / 12)))
        return k if k >= 1 else None
    cdf = _u_cdf(m, n)
    k = 0
    while k < len(cdf) and cdf[k] <= alpha:
        k += 1
    return k if k >= 1 else None


def _z(alpha: float) -> float:
    """The standard normal quantile of 1 - alpha."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - alpha)


def ratio_interval(reference: list[float], new: list[float], alpha: float, method: Method = "rank") -> Interval | None:
    """The interval for ``new / reference`` at one-sided error ``alpha`` each way; None when the samples are
    too few, or not all positive (then the ratio means nothing).

    One test, chosen before the data is seen: the exact Mann-Whitney interval (valid for any noise), or
    Welch's t on the logarithms (``method="t"``, or when the rank interval cannot exist at this sample size
    and alpha), which settles a clear difference on a quiet machine from three samples a side.
    """
    if method == "rank" and _rank(len(reference), len(new), alpha) is not None:
        return rank_interval(reference, new, alpha)
    return log_t_interval(reference, new, alpha)


@dataclass(frozen=True)
class Look:
    """One look at a candidate's growing samples: at ``size`` samples a side, one test at ``share`` of the
    candidate's alpha (the shares of all looks sum to one, so the looks together keep the alpha)."""

    size: int
    method: Method
    share: float


# Early looks settle big changes with little of the error budget; most of it waits for the last two looks,
# where a change near the noise is decided (1.25x under +-40% noise and a loaded machine: 64 a side found it
# 95% of the time, 128 finds nearly all the rest; a no-op has mostly been given up on by then).
SCHEDULE = (Look(3, "t", 0.05), Look(8, "rank", 0.05), Look(16, "rank", 0.10), Look(32, "rank", 0.20),
            Look(64, "rank", 0.30), Look(128, "rank", 0.30))
FUTILITY_ALPHA = 0.1  # a looser interval for giving up at the first look: it can stop sampling, never accept
FUTILITY_BETA = 0.01  # later looks give up when surely (at this one-sided level) not a worthwhile change
WORTH = 0.2  # futility gives up on what is surely short of 1.2x: a true 1.25x is then almost never given up


def schedule(ceiling: int) -> list[Look]:
    """The looks with at most ``ceiling`` samples a side (at least three): a look cut to the size of the one
    before it adds its share to that one."""
    top = max(3, ceiling)
    looks: list[Look] = []
    for look in SCHEDULE:
        size = min(top, look.size)
        if looks and looks[-1].size == size:
            looks[-1] = Look(size, looks[-1].method, looks[-1].share + look.share)
        else:
            looks.append(Look(size, look.method, look.share))
    return looks


def log_t_interval(reference: list[float], new: list[float], alpha: float) -> Interval | None:
    """Welch's interval for the difference of mean logarithms, as a ratio; None below three samples a side."""
    if len(reference) < 3 or len(new) < 3 or min(reference) <= 0 or min(new) <= 0:
        return None
    a = [math.log(v) for v in reference]
    b = [math.log(v) for v in new]
    m, n = len(a), len(b)
    va, vb = _variance(a) / m, _variance(b) / n
    se = math.sqrt(va + vb)
    shift = sum(b) / n - sum(a) / m
    if se <= 1e-12:
        se = 1e-9
        df = float(m + n - 2)
    else:
        df = (va + vb) ** 2 / ((va * va / (m - 1) if va else 0.0) + (vb * vb / (n - 1) if vb else 0.0) or 1e-300)
    half = t_quantile(1 - alpha, max(1.0, min(df, 1e6))) * se
    return Interval(ratio=math.exp(shift), lo=math.exp(shift - half), hi=math.exp(shift + half), n_ref=m, n_new=n,
                    level=round(1 - 2 * alpha, 6), method="Welch t interval of the log ratio")


def _variance(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile (p > 0.5) of Student's t with ``df`` degrees of freedom, by bisection on its tail."""
    lo, hi = 0.0, 1.0
    while _t_tail(hi, df) > 1 - p:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if _t_tail(mid, df) > 1 - p:
            lo = mid
        else:
            hi = mid
    return hi


def _t_tail(t: float, df: float) -> float:
    """P(T > t) for t >= 0: half the regularized incomplete beta I_{df/(df+t^2)}(df/2, 1/2)."""
    return 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))


def _betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b) (Lentz's continued fraction)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _betainc(b, a, 1 - x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return front * result / a


def rank_interval(reference: list[float], new: list[float], alpha: float) -> Interval | None:
    """The Hodges-Lehmann ratio with its exact Mann-Whitney interval; None when the samples are too few."""
    if not reference or not new or min(reference) <= 0 or min(new) <= 0:
        return None
    m, n = len(reference), len(new)
    k = _rank(m, n, alpha)
    if k is None:
        return None
    a = [math.log(v) for v in reference]
    b = [math.log(v) for v in new]
    diffs = sorted(y - x for y in b for x in a)
    mid = len(diffs) // 2
    shift = diffs[mid] if len(diffs) % 2 else (diffs[mid - 1] + diffs[mid]) / 2
    return Interval(ratio=math.exp(shift), lo=math.exp(diffs[k - 1]), hi=math.exp(diffs[len(diffs) - k]),
                    n_ref=m, n_new=n, level=round(1 - 2 * alpha, 6))


def min_samples(alpha: float) -> int:
    """The fewest samples per side with which the exact (rank) interval at ``alpha`` exists at all."""
    n = 2
    while math.comb(2 * n, n) * alpha < 1:
        n += 1
    return n


def equivalent(interval: Interval, margin: float) -> bool:
    """The whole interval lies within ``1 -+ margin``: whatever the change is, it is too small to matter."""
    return interval.lo > 1 / (1 + margin) and interval.hi < 1 + margin
