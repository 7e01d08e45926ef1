"""Wilson score intervals for shares measured on a sample (error rate, correction rate, stop-now
share), and how many more samples would settle a share against a limit.

A pure function is enough (the formula is ten lines); tests check it against published values.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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
    first, second = _resampled_pair(
        np.asarray(a, dtype=float),
        np.asarray(b, dtype=float),
        statistic,
        resamples,
        np.random.default_rng(seed),
    )
    low, high = np.percentile(first - second, [2.5, 97.5])
    return float(low), float(high)


# Draws resampled at once: the whole (resamples x n) matrix of a week with 100k tickets would
# hold gigabytes; the generator gives the same numbers drawn a block of rows at a time.
_BLOCK_DRAWS = 1 << 20
# 1 reads the statistics on a worker thread while the main thread draws the next blocks (numpy
# releases the GIL while it draws, gathers and counts): the facts stage runs alone, so the second
# core is free. 0 keeps everything on the calling thread (on a machine with one busy core the
# handoffs cost more than they save; see docs/performance.md).
_WORKER_THREADS = 1
# Blocks drawn ahead of the worker: a few blocks bound the memory.
_BLOCKS_AHEAD = 2


def _resampled_pair(
    first: np.ndarray,
    second: np.ndarray,
    statistic: Literal["mean", "median"],
    resamples: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The statistic of each of `resamples` resamples (with replacement) of `first`, then of
    `second`, drawn from `rng` row after row in that order; with `_WORKER_THREADS` the main
    thread draws the blocks of rows while a worker thread reads the statistic of each block."""
    outs = (np.empty(resamples), np.empty(resamples))
    pending: deque[Future[None]] = deque()
    with ThreadPoolExecutor(max_workers=max(1, _WORKER_THREADS)) as worker:
        for values, out in zip((first, second), outs, strict=True):
            if len(values) >= _COUNTED_FROM and _counted_statistics(values, statistic, out, rng):
                continue
            of_rows = _row_statistic(values, statistic)
            n = len(values)
            rows = max(1, _BLOCK_DRAWS // n)
            for start in range(0, resamples, rows):
                count = min(rows, resamples - start)
                drawn = rng.integers(0, n, size=(count, n))
                if not _WORKER_THREADS:
                    _fill(out[start : start + count], of_rows, drawn)
                    continue
                while len(pending) > _BLOCKS_AHEAD:
                    pending.popleft().result()
                pending.append(worker.submit(_fill, out[start : start + count], of_rows, drawn))
        while pending:
            pending.popleft().result()
    return outs


# From this many values in a group on, its resamples are drawn as counts (`_counted_statistics`).
# Below it each resample draws its positions one by one, as before: a week of that size keeps the
# intervals it always had, to the last bit.
_COUNTED_FROM = 20_000


def _counted_statistics(
    values: np.ndarray,
    statistic: Literal["mean", "median"],
    out: np.ndarray,
    rng: np.random.Generator,
) -> bool:
    """Fill `out` with the statistic of each of len(out) resamples of `values`, each resample
    drawn as its counts; False (nothing drawn) when that would not be cheaper than drawing
    positions, or when a value is NaN.

    Resampling n values with replacement puts on the distinct values counts that follow the
    multinomial law of n draws with each value's share of the group: the same resamples, in
    law, as n positions drawn one by one, at a cost per distinct value instead of per value.
    A mean needs every distinct value's count. A median needs only the counts of the values
    near the middle rank, with one count for all below and one for all above (`_median_window`,
    as `_CountedMedians` counts them); a resample whose median falls outside has the count below or above
    split over those values (a multinomial again, given that count), then is read in full.
    """
    n = len(values)
    if n == 0 or np.isnan(values).any():
        return False
    distinct, frequency = np.unique(values, return_counts=True)
    if statistic == "mean":
        if len(distinct) > n // 4:
            return False
        shares = frequency / n
        small = _small_integers(distinct, n)
        weights = small.astype(np.int64) if small is not None else distinct
        for start, count in _blocks(len(out), len(distinct)):
            counts = rng.multinomial(n, shares, size=count)
            out[start : start + count] = (counts @ weights) / n
        return True
    first, last = _median_window(frequency)
    width = last - first + 1
    if width + 2 > n // 4:
        return False
    below_share, above_share = frequency[:first].sum() / n, frequency[last + 1 :].sum() / n
    shares = np.concatenate(([below_share], frequency[first : last + 1] / n, [above_share]))
    lower, upper = (n - 1) // 2, n // 2  # the middle ranks (one, or the two of an even n)
    for start, count in _blocks(len(out), width + 2):
        counts = rng.multinomial(n, shares, size=count)
        under = counts[:, 0]
        through = counts[:, 1:-1].cumsum(axis=1) + under[:, None]
        low = (through <= lower).sum(axis=1)
        high = (through <= upper).sum(axis=1)
        outside = (under > lower) | (high == width)
        low, high = np.minimum(low, width - 1) + first, np.minimum(high, width - 1) + first
        for row in np.flatnonzero(outside):
            full = np.zeros(len(distinct), dtype=np.int64)
            full[first : last + 1] = counts[row, 1:-1]
            for part, drawn in (
                (slice(0, first), under[row]),
                (slice(last + 1, None), counts[row, -1]),
            ):
                if drawn:
                    part_frequency = frequency[part]
                    full[part] = rng.multinomial(drawn, part_frequency / part_frequency.sum())
            through_all = full.cumsum()
            low[row] = (through_all <= lower).sum()
            high[row] = (through_all <= upper).sum()
        out[start : start + count] = (distinct[low] + distinct[high]) / 2
    return True


def _blocks(rows: int, width: int) -> Iterator[tuple[int, int]]:
    """(start, count) of blocks of rows whose counts (`width` a row) hold about _BLOCK_DRAWS."""
    per_block = max(1, _BLOCK_DRAWS // max(1, width))
    for start in range(0, rows, per_block):
        yield start, min(per_block, rows - start)


def _fill(out: np.ndarray, of_rows: Callable[[np.ndarray], np.ndarray], drawn: np.ndarray) -> None:
    out[:] = of_rows(drawn)


def _row_statistic(
    values: np.ndarray, statistic: Literal["mean", "median"]
) -> Callable[[np.ndarray], np.ndarray]:
    """The function giving the statistic of `values` at each row of a block of drawn positions."""
    if statistic == "mean":
        small = _small_integers(values)
        if small is not None:
            return lambda drawn: small[drawn].sum(axis=1, dtype=np.int64) / len(values)
        return lambda drawn: np.mean(values[drawn], axis=1)
    if np.isnan(values).any():
        return lambda drawn: np.median(values[drawn], axis=1)
    return _CountedMedians(values)


def _small_integers(values: np.ndarray, n: int | None = None) -> np.ndarray | None:
    """`values` in the smallest integer type that holds them, when each is an integer (not
    -0.0) and a resample's sum (of `n` values, len(values) unless given) stays below 2**53;
    None otherwise. A resample's mean is then its
    integer sum divided by n: `np.mean` adds the same integers in another order, every partial
    sum is an integer below 2**53 and so exact, and it divides the same sum by the same n."""
    if len(values) == 0 or not np.isfinite(values).all() or (values != np.round(values)).any():
        return None
    if np.signbit(values[values == 0]).any():
        return None
    low, high = float(values.min()), float(values.max())
    if max(-low, high) * (len(values) if n is None else n) >= 2.0**53:
        return None
    for kind in (np.int8, np.int16, np.int32, np.int64):
        if np.iinfo(kind).min <= low and high <= np.iinfo(kind).max:
            return values.astype(kind)
    return None


# The median of a resample is read off the row's count of each distinct value (a block of rows
# holds about as many counts as draws) instead of partitioning the drawn values: the same
# numbers, several times faster. Only the distinct values near the middle need their own count:
# a resample's median lies within a few standard deviations (sqrt(n) / 2 draws) of the middle
# rank of the values; the rest are counted as below or above. A row whose median falls outside
# that window is counted again over every distinct value, so the window decides the speed only.
_MEDIAN_WINDOW_SIGMAS = 8.0
# Draws gathered and counted at a time: the gathered positions stay in the core's cache.
_CHUNK_DRAWS = 1 << 16
# Values below (above) the window are counted in this many bins, by their position: most draws
# fall there, and increments of one same counter would wait for each other.
_SPREAD = 16


def _median_window(frequency: np.ndarray) -> tuple[int, int]:
    """The first and last of the distinct values (by their counts `frequency`, in order) that
    hold the ranks within a few standard deviations of the middle rank: where a resample's
    median lies but for a very rare draw."""
    n = int(frequency.sum())
    ranks = np.cumsum(frequency)  # values up to each distinct value, inclusive
    margin = math.ceil(_MEDIAN_WINDOW_SIGMAS * math.sqrt(n) / 2)
    first = int(np.searchsorted(ranks, max(0, (n - 1) // 2 - margin), side="right"))
    last = int(np.searchsorted(ranks, min(n - 1, n // 2 + margin), side="right"))
    return first, last


class _CountedMedians:
    """The median of each row of drawn positions into `values` (no NaN), as `np.median` gives
    it (the middle value, or the mean of the two middle values), read off counts."""

    def __init__(self, values: np.ndarray) -> None:
        n = len(values)
        self.distinct, self.codes, frequency = np.unique(
            values, return_inverse=True, return_counts=True
        )
        # the window: codes first .. first + width - 1
        self.first, last = _median_window(frequency)
        self.width = last - self.first + 1
        # each position's bin: below the window, in it (by code), or above it
        spread = np.arange(n) % _SPREAD
        bins = np.where(
            self.codes < self.first,
            spread,
            np.where(
                self.codes < self.first + self.width,
                self.codes - self.first + _SPREAD,
                spread + self.width + _SPREAD,
            ),
        )
        # a table of 2-byte bins stays in the core's cache when a week has many tasks
        self.bins = bins.astype(np.uint16) if self.width + 2 * _SPREAD <= 1 << 16 else bins

    def __call__(self, drawn: np.ndarray) -> np.ndarray:
        rows, n = drawn.shape
        span = self.width + 2 * _SPREAD
        low, high = np.empty(rows, dtype=np.intp), np.empty(rows, dtype=np.intp)
        below_window = np.empty(rows, dtype=np.intp)
        chunk = max(1, _CHUNK_DRAWS // n)
        for start in range(0, rows, chunk):
            bins = self.bins[drawn[start : start + chunk]]
            count = len(bins)
            if count > 1:
                bins = bins + (np.arange(count) * span)[:, None]
            counts = np.bincount(bins.ravel(), minlength=count * span).reshape(count, span)
            under = counts[:, :_SPREAD].sum(axis=1)
            below = counts[:, _SPREAD : _SPREAD + self.width].cumsum(axis=1) + under[:, None]
            below_window[start : start + count] = under
            low[start : start + count] = (below <= (n - 1) // 2).sum(axis=1)
            high[start : start + count] = (below <= n // 2).sum(axis=1)
        outside = (below_window > (n - 1) // 2) | (high == self.width)
        low += self.first
        high += self.first
        for row in np.flatnonzero(outside):
            below = np.bincount(self.codes[drawn[row]], minlength=len(self.distinct)).cumsum()
            low[row] = (below <= (n - 1) // 2).sum()
            high[row] = (below <= n // 2).sum()
        return (self.distinct[low] + self.distinct[high]) / 2
