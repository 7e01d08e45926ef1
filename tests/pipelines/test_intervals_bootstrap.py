"""The bootstrap intervals of AI against manual tasks, equal to the last bit to the bootstrap
before its resamples were drawn ahead of a worker thread and its medians read from a window of
counts (a frozen copy of that function is kept here)."""

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
