"""Large groups' bootstrap resamples drawn as counts over the distinct values: each resample's
statistic read exactly off its counts, the same law as positions drawn one by one (the frozen
function of tests/pipelines/test_intervals_bootstrap.py), and the same interval every time."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pytest

from pipelines import intervals
from pipelines.intervals import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, bootstrap_difference
from tests.pipelines.test_intervals_bootstrap import _bits, _group, frozen_resampled


class _Recording:
    """A generator that keeps every multinomial draw it hands out, in order."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.draws: list[tuple[int, np.ndarray, np.ndarray]] = []

    def multinomial(self, n: int, shares: np.ndarray, size: Any = None) -> np.ndarray:
        counts = self.rng.multinomial(n, shares, size=size)
        self.draws.append((n, shares, counts))
        return counts


def _counted(values: np.ndarray, statistic: Literal["mean", "median"]) -> tuple[np.ndarray, Any]:
    out = np.empty(BOOTSTRAP_RESAMPLES)
    rng = _Recording(5)
    assert intervals._counted_statistics(values, statistic, out, rng)  # type: ignore[arg-type]
    return out, rng


@pytest.mark.parametrize("kind", ["contacts", "negative", "two", "zeros"])
def test_a_mean_is_read_exactly_off_the_counts(kind: str) -> None:
    """It gives each resample's mean as np.mean gives it for the values its counts stand for:
    the same bits for integers (an exact integer sum), the same to rounding for others."""
    values = _group(kind, 30_001, 1)
    out, rng = _counted(values, "mean")
    distinct = np.unique(values)
    rows = np.concatenate([counts for _, _, counts in rng.draws])
    assert rows.shape == (BOOTSTRAP_RESAMPLES, len(distinct))
    assert (rows.sum(axis=1) == len(values)).all()
    for row in range(0, BOOTSTRAP_RESAMPLES, 97):
        expected = np.mean(np.repeat(distinct, rows[row]))
        if kind == "zeros":  # -1.5 and 2.25 are summed in another order than np.mean's
            assert out[row] == pytest.approx(expected, rel=1e-12, abs=1e-15)
        else:
            assert _bits(out[row]) == _bits(expected)


@pytest.mark.parametrize(("kind", "n"), [("minutes", 30_001), ("minutes", 30_000), ("two", 40_000)])
def test_a_median_is_read_exactly_off_the_window_counts(kind: str, n: int) -> None:
    """It gives each resample's median as np.median gives it for its values, the values below
    and above the window standing in as minus and plus infinity."""
    values = _group(kind, n, 2)
    out, rng = _counted(values, "median")
    distinct = np.unique(values)
    rows = np.concatenate([counts for _, _, counts in rng.draws])
    window = len(rows[0]) - 2
    ranks = np.cumsum(np.unique(values, return_counts=True)[1])
    first = int(np.searchsorted(ranks, (n - 1) // 2 - np.ceil(4 * np.sqrt(n)), side="right"))
    in_window = distinct[first : first + window]
    for row in range(0, BOOTSTRAP_RESAMPLES, 41):
        under, inside, above = rows[row][0], rows[row][1:-1], rows[row][-1]
        sample = np.concatenate(
            [np.full(under, -np.inf), np.repeat(in_window, inside), np.full(above, np.inf)]
        )
        assert _bits(out[row]) == _bits(np.median(sample))


def test_medians_outside_the_window_are_read_off_counts_split_below_and_above(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It reads a median that falls below or above the window off the count below (above)
    split over those values, and gives np.median of the values so counted."""
    monkeypatch.setattr(intervals, "_MEDIAN_WINDOW_SIGMAS", 0.0)
    values = _group("minutes", 30_001, 3)
    n = len(values)
    distinct, frequency = np.unique(values, return_counts=True)
    out, rng = _counted(values, "median")
    splits = [(drawn, counts) for drawn, _, counts in rng.draws if counts.ndim == 1]
    assert len(splits) > 100  # most medians fall outside a window of the middle value alone
    for drawn, counts in splits:
        assert counts.sum() == drawn
    # every median is a middle value (or the mean of two) of some resample of these values
    halves = np.unique(np.add.outer(distinct, distinct).ravel() / 2)
    assert np.isin(out, np.concatenate([distinct, halves])).all()
    # and the law is the bootstrap's, outside the window as inside it
    positions = frozen_resampled(values, "median", BOOTSTRAP_RESAMPLES, np.random.default_rng(9))
    _assert_same_law(out, positions)
    assert frequency.sum() == n


def _assert_same_law(counted: np.ndarray, positions: np.ndarray) -> None:
    """Two sets of 2,000 resample statistics agree in centre, spread and tails within what
    2,000 draws of each can tell apart."""
    spread = positions.std()
    assert abs(counted.mean() - positions.mean()) < 5 * spread / np.sqrt(BOOTSTRAP_RESAMPLES / 2)
    assert abs(counted.std() / spread - 1) < 0.12
    for q in (2.5, 97.5):
        assert abs(np.percentile(counted, q) - np.percentile(positions, q)) < 0.35 * spread


@pytest.mark.parametrize(
    ("kind", "statistic"),
    [
        ("contacts", "mean"),
        ("negative", "mean"),
        ("minutes", "median"),
        ("two", "median"),
        ("continuous", "median"),
    ],
)
def test_counts_resample_with_the_law_of_positions(
    kind: str, statistic: Literal["mean", "median"]
) -> None:
    """It gives resample statistics with the law of positions drawn one by one: the same
    centre, spread and 2.5 / 97.5 percentiles, within the noise of 2,000 resamples."""
    values = _group(kind, 25_000, 4)
    counted, _ = _counted(values, statistic)
    positions = frozen_resampled(values, statistic, BOOTSTRAP_RESAMPLES, np.random.default_rng(8))
    _assert_same_law(counted, positions)


def test_week_sized_intervals_match_positions_and_repeat_exactly() -> None:
    """It gives a week-sized interval within the bootstrap's own noise of the one positions
    give, and the same bits on every call."""
    first, second = _group("minutes", 70_000, 5), _group("minutes", 27_001, 6)
    counted = bootstrap_difference(first.tolist(), second.tolist(), "median")
    assert counted is not None
    assert counted == bootstrap_difference(first.tolist(), second.tolist(), "median")
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    diffs = frozen_resampled(first, "median", BOOTSTRAP_RESAMPLES, rng) - frozen_resampled(
        second, "median", BOOTSTRAP_RESAMPLES, rng
    )
    low, high = np.percentile(diffs, [2.5, 97.5])
    width = high - low
    assert abs(counted[0] - low) < 0.15 * width
    assert abs(counted[1] - high) < 0.15 * width


@pytest.mark.parametrize(
    ("kind", "statistic"),
    [("nan", "mean"), ("nan", "median"), ("continuous", "mean")],
)
def test_groups_with_nan_or_mostly_distinct_values_draw_positions(
    kind: str, statistic: Literal["mean", "median"]
) -> None:
    """It draws nothing as counts when a value is NaN or when a mean's values are nearly all
    distinct (counts would cost more than positions), and leaves the generator untouched."""
    values = _group(kind, 30_000, 6)
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    assert not intervals._counted_statistics(values, statistic, np.empty(10), rng)
    assert rng.bit_generator.state == state


def test_groups_below_the_threshold_keep_their_bits() -> None:
    """It draws positions for a group just below the threshold: the same bits as before."""
    values = _group("minutes", intervals._COUNTED_FROM - 1, 7)
    old = frozen_resampled(values, "median", 50, np.random.default_rng(3))
    new, _ = intervals._resampled_pair(values, values[:10], "median", 50, np.random.default_rng(3))
    assert np.array_equal(_bits(new), _bits(old))
