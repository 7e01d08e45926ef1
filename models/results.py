"""Typed results that pass between the stages."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

# The column of a checked file's quarantined rows that lists each row's reasons.
REASONS = "__reasons__"


@dataclass(frozen=True)
class CheckedRows:
    """Rows of one file after the row checks: `valid` rows, and `quarantined` rows with their
    reasons (columns `__line__`, `__reasons__`), or the whole file `refused` with its reason."""

    valid: pl.DataFrame
    quarantined: pl.DataFrame
    refused: str | None = None
