"""ISO week labels as polars computes them, and the bounds of a labelled week."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from models.results import Week
from pipelines.weeks import pilot_week, week_bounds_utc, week_expr

UTC = dt.UTC
BERLIN = "Europe/Berlin"


def test_week_expr_labels_timestamps_in_the_timezone() -> None:
    """It labels a UTC timestamp by its local Berlin date, with a two-digit week number."""
    frame = pl.DataFrame(
        {
            "at": [
                dt.datetime(2026, 3, 1, 22, 59, tzinfo=UTC),  # Sunday 23:59 CET: W09
                dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC),  # Monday 00:00 CET: W10
                dt.datetime(2027, 1, 1, 12, tzinfo=UTC),
            ]
        },
        schema={"at": pl.Datetime("us", "UTC")},
    )
    labels = frame.select(week_expr("at", BERLIN)).to_series().to_list()
    assert labels == ["2026-W09", "2026-W10", "2026-W53"]
    dates = pl.DataFrame({"d": [dt.date(2026, 1, 4), dt.date(2026, 1, 5)]})
    assert dates.select(week_expr("d", BERLIN, is_date=True)).to_series().to_list() == [
        "2026-W01",
        "2026-W02",
    ]


def test_week_expr_agrees_with_week_bounds() -> None:
    """It labels the first and last instants of a week with that week, and the end with the next."""
    week = Week.parse("2026-W43", BERLIN)
    frame = pl.DataFrame(
        {"at": [week.start, week.end - dt.timedelta(microseconds=1), week.end]},
        schema={"at": pl.Datetime("us", "UTC")},
    )
    labels = frame.select(week_expr("at", BERLIN)).to_series().to_list()
    assert labels == ["2026-W43", "2026-W43", "2026-W44"]


def test_week_bounds_utc_are_the_weeks_bounds() -> None:
    """It gives a labelled week's UTC bounds and refuses a bad label."""
    assert week_bounds_utc("2026-W13", BERLIN) == (
        dt.datetime(2026, 3, 22, 23, tzinfo=UTC),
        dt.datetime(2026, 3, 29, 22, tzinfo=UTC),
    )
    with pytest.raises(ValueError, match="is not an ISO week"):
        week_bounds_utc("2026-47", BERLIN)


def test_pilot_week_refuses_a_week_of_another_timezone(example_model) -> None:
    """It passes a week parsed in the pilot's timezone and refuses one parsed in another."""
    week = Week.parse("2026-W47", example_model.timezone)
    assert pilot_week(example_model, week) is week
    with pytest.raises(ValueError, match="parse the week in the pilot's timezone"):
        pilot_week(example_model, Week.parse("2026-W47", "America/New_York"))


def test_rows_per_week_counts_each_row_once_in_its_local_week() -> None:
    """It counts a row in the pilot's local ISO week (Sunday 23:59 and Monday 00:00 Berlin
    apart), by the first column it has a value in, and dates as local days."""
    from pipelines.weeks import rows_per_week

    utc = dt.UTC
    frame = pl.DataFrame(
        {
            "solved_at": [None, dt.datetime(2026, 10, 11, 22, 0, tzinfo=utc), None],
            "created_at": [
                dt.datetime(2026, 10, 11, 21, 59, tzinfo=utc),
                dt.datetime(2026, 10, 1, 8, 0, tzinfo=utc),
                dt.datetime(2026, 10, 11, 22, 14, tzinfo=utc),
            ],
        }
    )
    columns = ("solved_at", "created_at")
    assert rows_per_week(frame, columns, "Europe/Berlin") == {"2026-W41": 1, "2026-W42": 2}
    assert rows_per_week(frame, columns, "Asia/Kathmandu") == {"2026-W42": 3}
    dates = pl.DataFrame({"work_date": [dt.date(2026, 10, 11), dt.date(2026, 10, 12)]})
    assert rows_per_week(dates, ("work_date",), "UTC") == {"2026-W41": 1, "2026-W42": 1}
