"""Wilson score intervals for shares measured on a sample (error rate, correction rate, stop-now
share), and how many more samples would settle a share against a limit.

A pure function is enough (the formula is ten lines); tests check it against published values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

Z95 = 1.959963984540054  # two-sided 95 %


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval [low, high] of successes/n; None without a sample."""
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def more_samples_to_settle(successes: int, n: int, limit: float, cap: int = 100_000) -> int | None:
    """How many more samples would bring the interval's upper bound to the limit or below,
    assuming the share stays what it is now (successes/n); None when it never would (the share
    is at or above the limit) or when more than `cap` would be needed."""
    if n <= 0 or successes / n >= limit:
        return None
    share = successes / n
    total = n
    bound = wilson(share * total, total)
    while bound is not None and bound[1] > limit:
        total += 1
        if total - n > cap:
            return None
        bound = wilson(share * total, total)
    return total - n


def percent(share: float) -> str:
    """A share as a percentage with one decimal ("6.9 %")."""
    return f"{share * 100:.1f} %"


def rate_with_interval(rate: float | None, ci: list[float] | None, n: int) -> str:
    """A sample rate as reports and findings write it: "6.9 %, 95 % CI 1.9-22.0 %, n=29"."""
    if rate is None:
        return "n/a"
    if ci is None:
        return f"{percent(rate)}, n={n}"
    return f"{percent(rate)}, 95 % CI {ci[0] * 100:.1f}-{ci[1] * 100:.1f} %, n={n}"


# issue 22: differences between AI and manual tasks ------------------------------------------
BOOTSTRAP_SEED = 22
BOOTSTRAP_RESAMPLES = 2000


def newcombe_difference(
    successes_a: int, n_a: int, successes_b: int, n_b: int
) -> tuple[float, float] | None:
    """Newcombe's hybrid score 95 % interval of the difference of two shares (a minus b), built
    from each share's Wilson interval; None when either group is empty."""
    first, second = wilson(successes_a, n_a), wilson(successes_b, n_b)
    if first is None or second is None:
        return None
    p_a, p_b = successes_a / n_a, successes_b / n_b
    diff = p_a - p_b
    low = diff - math.sqrt((p_a - first[0]) ** 2 + (second[1] - p_b) ** 2)
    high = diff + math.sqrt((first[1] - p_a) ** 2 + (p_b - second[0]) ** 2)
    return max(-1.0, low), min(1.0, high)


def bootstrap_difference(
    a: Sequence[float],
    b: Sequence[float],
    statistic: Literal["mean", "median"],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float] | None:
    """The percentile bootstrap 95 % interval of statistic(a) - statistic(b), each group
    resampled with replacement, from a fixed seed so the same week gives the same interval;
    None when either group is empty."""
    if len(a) == 0 or len(b) == 0:
        return None
    rng = np.random.default_rng(seed)
    first, second = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diffs = _resampled(first, statistic, resamples, rng) - _resampled(
        second, statistic, resamples, rng
    )
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high)


# Draws resampled at once: the whole (resamples x n) matrix of a week with 100k tickets would
# hold gigabytes; the generator gives the same numbers drawn a block of rows at a time.
_BLOCK_DRAWS = 1 << 20


def _resampled(
    values: np.ndarray,
    statistic: Literal["mean", "median"],
    resamples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The statistic of each of `resamples` resamples of `values` (with replacement), drawn
    from `rng` row after row."""
    n = len(values)
    distinct, codes = np.unique(values, return_inverse=True)
    by_counts = statistic == "median" and not np.isnan(values).any()
    rows = max(1, _BLOCK_DRAWS // n)
    out = np.empty(resamples)
    for start in range(0, resamples, rows):
        count = min(rows, resamples - start)
        drawn = rng.integers(0, n, size=(count, n))
        if by_counts:
            out[start : start + count] = _counted_medians(codes[drawn], distinct)
        elif statistic == "median":
            out[start : start + count] = np.median(values[drawn], axis=1)
        else:
            out[start : start + count] = np.mean(values[drawn], axis=1)
    return out


# The median of a resample is read off the row's count of each distinct value (a block of rows
# holds about as many counts as draws) instead of partitioning the drawn values: the same
# numbers, several times faster.


def _counted_medians(codes: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """The median of each row of `codes` (positions in the sorted `distinct` values), as
    `np.median` gives it: the middle value, or the mean of the two middle values."""
    rows, n = codes.shape
    width = len(distinct)
    counts = np.bincount(
        (codes + (np.arange(rows) * width)[:, None]).ravel(), minlength=rows * width
    ).reshape(rows, width)
    below = counts.cumsum(axis=1)
    low = (below <= (n - 1) // 2).sum(axis=1)
    high = (below <= n // 2).sum(axis=1)
    return (distinct[low] + distinct[high]) / 2
