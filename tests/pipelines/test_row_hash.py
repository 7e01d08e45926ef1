"""The row content hash: stable across versions, and telling apart rows that differ."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.prepare import row_hash

ROW = {
    "request_id": "chatcmpl-42",
    "timestamp": dt.datetime(2026, 7, 1, 8, 30, 15, 250_000, tzinfo=dt.UTC),
    "work_date": dt.date(2026, 6, 30),
    "user": None,
    "model": "gpt-4o",
    "input_tokens": 1200,
    "cost_usd": 0.0125,
    "ai_draft_used": True,
}


def _hashes(rows: pl.DataFrame) -> list[str]:
    return rows.select(row_hash(rows, rows.columns).alias("row_hash"))["row_hash"].to_list()


def _frame(*rows: dict[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema_overrides={"user": pl.String})


def test_a_fixed_row_keeps_its_hash() -> None:
    """It gives a fixed row of every column type the hash it has always had."""
    # xxHash64 (seed 0) of the row in the documented encoding, version 1.
    assert _hashes(_frame(ROW)) == ["12020648612010486825"]


def test_a_null_and_an_empty_text_differ() -> None:
    """It hashes a row with a null apart from the same row with an empty text there."""
    with_null, with_empty = _hashes(_frame(ROW, {**ROW, "user": ""}))
    assert with_null != with_empty


def test_text_moved_between_adjacent_columns_changes_the_hash() -> None:
    """It hashes ("ab", "c") apart from ("a", "bc") in two adjacent text columns."""
    rows = pl.DataFrame({"a": ["ab", "a", "abc", ""], "b": ["c", "bc", "", "abc"]})
    assert len(set(_hashes(rows))) == 4


def test_the_same_instant_hashes_alike_in_any_time_zone() -> None:
    """It hashes a timestamp by its instant, not by the time zone it is shown in."""
    utc = _frame(ROW)
    berlin = utc.with_columns(pl.col("timestamp").dt.convert_time_zone("Europe/Berlin"))
    later = utc.with_columns(pl.col("timestamp") + dt.timedelta(microseconds=1))
    assert _hashes(berlin) == _hashes(utc) != _hashes(later)
