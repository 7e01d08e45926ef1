"""The bootstrap intervals of AI against manual tasks, equal to the last bit to the bootstrap
before its medians were read from a window of counts, its means of integers from integer sums
and its statistics optionally on a worker thread (a frozen copy of that function is kept here),
wherever resamples are drawn position by position (groups below `intervals._COUNTED_FROM`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pytest

from pipelines import intervals
from pipelines.intervals import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, bootstrap_difference

# --- frozen copy of pipelines/intervals.py at commit 07d5328 (do not edit) ---------------------
_FROZEN_BLOCK_DRAWS = 1 << 20


def frozen_bootstrap_difference(
    a: Sequence[float],
    b: Sequence[float],
    statistic: Literal["mean", "median"],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float] | None:
    """The bootstrap interval as pipelines/intervals.py gave it at commit 07d5328."""
    if len(a) == 0 or len(b) == 0:
        return None
    rng = np.random.default_rng(seed)
    first, second = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diffs = frozen_resampled(first, statistic, resamples, rng) - frozen_resampled(
        second, statistic, resamples, rng
    )
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high)


def frozen_resampled(
    values: np.ndarray,
    statistic: Literal["mean", "median"],
    resamples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The statistic of each resample as `_resampled` gave it at commit 07d5328."""
    n = len(values)
    distinct, codes = np.unique(values, return_inverse=True)
    by_counts = statistic == "median" and not np.isnan(values).any()
    rows = max(1, _FROZEN_BLOCK_DRAWS // n)
    out = np.empty(resamples)
    for start in range(0, resamples, rows):
        count = min(rows, resamples - start)
        drawn = rng.integers(0, n, size=(count, n))
        if by_counts:
            out[start : start + count] = _frozen_counted_medians(codes[drawn], distinct)
        elif statistic == "median":
            out[start : start + count] = np.median(values[drawn], axis=1)
        else:
            out[start : start + count] = np.mean(values[drawn], axis=1)
    return out


def _frozen_counted_medians(codes: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    rows, n = codes.shape
    width = len(distinct)
    counts = np.bincount(
        (codes + (np.arange(rows) * width)[:, None]).ravel(), minlength=rows * width
    ).reshape(rows, width)
    below = counts.cumsum(axis=1)
    low = (below <= (n - 1) // 2).sum(axis=1)
    high = (below <= n // 2).sum(axis=1)
    return (distinct[low] + distinct[high]) / 2


# --- end of the frozen copy ---------------------------------------------------------------------


def _bits(values: object) -> np.ndarray:
    """The float64 values' bit patterns: equal bits are equal numbers, NaN and -0.0 included."""
    return np.asarray(values, dtype=np.float64).view(np.int64)


def _group(kind: str, n: int, seed: int) -> np.ndarray:
    """n values of one kind: contact counts, rounded or continuous minutes, or edge cases."""
    rng = np.random.default_rng(seed)
    if kind == "contacts":  # small integers, many ties
        return rng.integers(1, 7, n).astype(float)
    if kind == "minutes":  # a lognormal rounded to 0.1: thousands of distinct values
        return np.round(rng.lognormal(5.0, 1.2, n), 1)
    if kind == "continuous":  # no ties
        return rng.normal(0.0, 1e3, n)
    if kind == "constant":
        return np.full(n, 4.5)
    if kind == "two":  # two values, half each: the median is often their mean
        return (rng.random(n) < 0.5).astype(float) * 3.0
    if kind == "zeros":  # signed zeros among negative and positive values
        return rng.choice([-0.0, 0.0, -1.5, 2.25], n)
    if kind == "negative":  # integers of both signs
        return rng.integers(-300, 300, n).astype(float)
    if kind == "big":  # integers whose resample sums come near 2**53, still exact
        return rng.integers(-(2**52) // n, 2**52 // n, n).astype(float)
    if kind == "huge":  # integers whose resample sums may pass 2**53 (no longer exact)
        return rng.integers(2**50, 2**51, n).astype(float) * 3.0
    if kind == "nan":  # a few NaN (a resample holding one has a NaN statistic)
        values = np.round(rng.lognormal(2.0, 1.0, n), 1)
        values[rng.integers(0, n, max(1, n // 500))] = np.nan
        return values
    raise AssertionError(kind)


SIZES = [(1, 1), (1, 6), (2, 3), (3, 2), (7, 10), (100, 101), (999, 1000), (4096, 4097)]
KINDS = [
    "contacts",
    "minutes",
    "continuous",
    "constant",
    "two",
    "zeros",
    "negative",
    "big",
    "huge",
    "nan",
]


def _assert_same_resamples(first: np.ndarray, second: np.ndarray, statistic: str) -> None:
    stat: Literal["mean", "median"] = "mean" if statistic == "mean" else "median"
    old_rng, new_rng = np.random.default_rng(BOOTSTRAP_SEED), np.random.default_rng(BOOTSTRAP_SEED)
    old_first = frozen_resampled(first, stat, BOOTSTRAP_RESAMPLES, old_rng)
    old_second = frozen_resampled(second, stat, BOOTSTRAP_RESAMPLES, old_rng)
    new_first, new_second = intervals._resampled_pair(
        first, second, stat, BOOTSTRAP_RESAMPLES, new_rng
    )
    assert np.array_equal(_bits(new_first), _bits(old_first))
    assert np.array_equal(_bits(new_second), _bits(old_second))
    # the generator is left where it was: nothing drawn more or less
    assert new_rng.bit_generator.state == old_rng.bit_generator.state


@pytest.mark.parametrize("statistic", ["mean", "median"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("n_a", "n_b"), SIZES)
def test_small_groups_resample_to_the_same_bits(
    n_a: int, n_b: int, kind: str, statistic: str
) -> None:
    """It gives every resample's statistic, and the interval, equal to the last bit to the
    function before, and leaves the generator in the same state."""
    first, second = _group(kind, n_a, 1), _group(kind, n_b, 2)
    _assert_same_resamples(first, second, statistic)
    stat: Literal["mean", "median"] = "mean" if statistic == "mean" else "median"
    new = bootstrap_difference(first.tolist(), second.tolist(), stat)
    old = frozen_bootstrap_difference(first.tolist(), second.tolist(), stat)
    assert np.array_equal(_bits(new), _bits(old))


@pytest.mark.parametrize(
    ("kind", "n_a", "n_b", "statistic"),
    [
        # a 1M-call week's AI and manual tasks, odd and even sizes
        ("contacts", 70_001, 27_000, "mean"),
        ("contacts", 70_001, 27_000, "median"),
        ("minutes", 70_000, 27_001, "mean"),
        ("minutes", 70_000, 27_001, "median"),
        # a block of draws is one row or less
        ("contacts", 200_001, 2, "mean"),
        ("minutes", 200_001, 3, "median"),
        ("nan", 5_000, 5_001, "mean"),
        ("nan", 5_000, 5_001, "median"),
    ],
)
def test_week_sized_groups_resample_to_the_same_bits(
    kind: str, n_a: int, n_b: int, statistic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drawing positions one by one, it gives the same bits as the function before on groups as
    large as a week's tasks (groups this large are drawn as counts by default, which
    tests/pipelines/test_intervals_counted.py checks)."""
    monkeypatch.setattr(intervals, "_COUNTED_FROM", 10**9)
    _assert_same_resamples(_group(kind, n_a, 3), _group(kind, n_b, 4), statistic)


@pytest.mark.parametrize("kind", ["minutes", "contacts", "two", "zeros"])
def test_medians_outside_the_window_are_counted_in_full(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It gives the same medians when the window of counted values is the middle value alone,
    so that most resamples' medians fall outside it and are counted over every value."""
    monkeypatch.setattr(intervals, "_MEDIAN_WINDOW_SIGMAS", 0.0)
    first, second = _group(kind, 5_001, 5), _group(kind, 5_000, 6)
    medians = intervals._CountedMedians(first)
    drawn = np.random.default_rng(0).integers(0, len(first), size=(200, len(first)))
    expected = _frozen_counted_medians(medians.codes[drawn], medians.distinct)
    assert np.array_equal(_bits(medians(drawn)), _bits(expected))
    window = medians.distinct[medians.first : medians.first + medians.width]
    if len(np.unique(first)) > 3:  # the test reaches the rows counted in full
        assert ((expected < window[0]) | (expected > window[-1])).sum() > 20
    _assert_same_resamples(first, second, "median")


def test_block_and_chunk_sizes_do_not_change_the_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    """It gives the same bits with blocks of a few rows and chunks of one row: the generator
    draws the same numbers whatever the shape asked of it."""
    monkeypatch.setattr(intervals, "_BLOCK_DRAWS", 3_000)
    monkeypatch.setattr(intervals, "_CHUNK_DRAWS", 1)
    for statistic in ("mean", "median"):
        _assert_same_resamples(_group("minutes", 1_001, 7), _group("minutes", 998, 8), statistic)


def test_empty_groups_have_no_interval() -> None:
    """It gives no interval when either group is empty, as before."""
    assert bootstrap_difference([], [1.0], "mean") is None
    assert bootstrap_difference([1.0], [], "median") is None


@pytest.mark.parametrize(
    ("kind", "summed"),
    [
        ("contacts", True),
        ("two", True),
        ("negative", True),
        ("big", True),
        ("huge", False),  # a resample's sum could pass 2**53
        ("zeros", False),  # -0.0: np.mean keeps the sign of a sum of -0.0
        ("minutes", False),
        ("nan", False),
    ],
)
def test_means_of_integers_are_integer_sums(kind: str, summed: bool) -> None:
    """It reads the mean of integer values off integer sums, only where that gives np.mean's
    bits, and the same bits as np.mean on every row there."""
    values = _group(kind, 4_097, 9)
    small = intervals._small_integers(values)
    assert (small is not None) == summed
    drawn = np.random.default_rng(1).integers(0, len(values), size=(300, len(values)))
    of_rows = intervals._row_statistic(values, "mean")
    assert np.array_equal(_bits(of_rows(drawn)), _bits(np.mean(values[drawn], axis=1)))


@pytest.mark.parametrize("ahead", [0, 2])
@pytest.mark.parametrize("statistic", ["mean", "median"])
def test_statistics_on_a_worker_thread_give_the_same_bits(
    statistic: str, ahead: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It gives the same bits with the statistics read on a worker thread while the main
    thread draws the next blocks."""
    monkeypatch.setattr(intervals, "_WORKER_THREADS", 1)
    monkeypatch.setattr(intervals, "_BLOCK_DRAWS", 20_000)
    monkeypatch.setattr(intervals, "_BLOCKS_AHEAD", ahead)
    _assert_same_resamples(_group("contacts", 3_001, 10), _group("minutes", 2_000, 11), statistic)
