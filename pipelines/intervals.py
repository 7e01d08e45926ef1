"""Wilson score intervals for shares measured on a sample (error rate, correction rate, stop-now
share), and how many more samples would settle a share against a limit.

A pure function is enough (the formula is ten lines); tests check it against published values.
"""

from __future__ import annotations

import math

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
