"""Wilson 95 % intervals of sample rates and the reviews that would settle a rate."""

from __future__ import annotations

import pytest

from pipelines.intervals import more_samples_to_settle, wilson


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Wilson 95 % intervals published by Newcombe (1998) for 81/263, 15/148 and 0/20, the
        # issue's example (2 of 29 reviews: 1.9-22.0 %) and a full sample.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (2, 29, 0.0191, 0.2196),
        (29, 29, 0.8830, 1.0),
    ],
)
def test_wilson_matches_published_values(successes: int, n: int, low: float, high: float) -> None:
    """It gives the published Wilson interval to four decimals."""
    bounds = wilson(successes, n)
    assert bounds is not None
    assert bounds[0] == pytest.approx(low, abs=1e-4)
    assert bounds[1] == pytest.approx(high, abs=1e-4)


def test_wilson_agrees_with_scipy() -> None:
    """It gives the interval scipy's binomtest gives with method wilson."""
    stats = pytest.importorskip("scipy.stats")
    for successes, n in [(0, 1), (1, 7), (3, 29), (40, 411), (5, 5)]:
        ci = stats.binomtest(successes, n).proportion_ci(method="wilson")
        assert wilson(successes, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_wilson_is_none_without_a_sample() -> None:
    """It gives no interval for an empty sample."""
    assert wilson(0, 0) is None


@pytest.mark.parametrize(
    ("successes", "n", "limit", "more"),
    [
        (0, 29, 0.10, 6),  # 0 of 35 reaches 0 to 9.9 %
        (1, 29, 0.10, 52),
        (0, 40, 0.10, 0),  # already settled
        (3, 29, 0.10, None),  # 10.3 % is not under the limit: more reviews do not help
    ],
)
def test_more_samples_to_settle(successes: int, n: int, limit: float, more: int | None) -> None:
    """It counts the reviews that bring the upper bound to the limit at the same rate."""
    assert more_samples_to_settle(successes, n, limit) == more
    if more is not None:
        share = successes / n
        bounds = wilson(share * (n + more), n + more)
        assert bounds is not None and bounds[1] <= limit
