"""ISO weeks in the pilot's timezone: bounds across DST, labels, parsing and shifting."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines.weeks import (
    days_in_month,
    last_complete_week,
    parse_week,
    shift_week,
    week_bounds_utc,
    week_days,
    week_expr,
    week_label,
)

UTC = dt.UTC
BERLIN = "Europe/Berlin"


def test_2026_has_53_iso_weeks() -> None:
    """It accepts 2026-W53 (2026 starts on a Thursday) and refuses 2027-W53."""
    assert dt.date.fromisocalendar(2026, 53, 1) == dt.date(2026, 12, 28)
    assert parse_week("2026-W53") == (2026, 53)
    with pytest.raises(ValueError, match="does not exist"):
        parse_week("2027-W53")


def test_week_days_are_monday_to_sunday() -> None:
    """It gives the Monday and Sunday of a week."""
    assert week_days("2026-W47") == (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    assert week_days("2026-W01") == (dt.date(2025, 12, 29), dt.date(2026, 1, 4))


def test_week_bounds_in_a_summer_week() -> None:
    """It starts a Berlin summer week at Sunday 22:00 UTC and lasts exactly 7 days."""
    start, end = week_bounds_utc("2026-W27", BERLIN)
    assert start == dt.datetime(2026, 6, 28, 22, tzinfo=UTC)
    assert end - start == dt.timedelta(days=7)


def test_week_bounds_across_the_autumn_dst_change() -> None:
    """It makes the week holding 2026-10-25 (summer time ends) one hour longer than 7 days."""
    start, end = week_bounds_utc("2026-W43", BERLIN)
    assert week_days("2026-W43") == (dt.date(2026, 10, 19), dt.date(2026, 10, 25))
    assert start == dt.datetime(2026, 10, 18, 22, tzinfo=UTC)  # Monday 00:00 CEST
    assert end == dt.datetime(2026, 10, 25, 23, tzinfo=UTC)  # next Monday 00:00 CET
    assert end - start == dt.timedelta(days=7, hours=1)
    next_start, next_end = week_bounds_utc("2026-W44", BERLIN)
    assert next_start == end
    assert next_end == dt.datetime(2026, 11, 1, 23, tzinfo=UTC)


def test_week_bounds_across_the_spring_dst_change() -> None:
    """It makes the week holding 2026-03-29 (summer time starts) one hour shorter than 7 days."""
    start, end = week_bounds_utc("2026-W13", BERLIN)
    assert start == dt.datetime(2026, 3, 22, 23, tzinfo=UTC)
    assert end == dt.datetime(2026, 3, 29, 22, tzinfo=UTC)
    assert end - start == dt.timedelta(days=6, hours=23)


@pytest.mark.parametrize(
    ("now", "timezone", "week"),
    [
        # Sunday 23:30 UTC is already Monday 00:30 in Berlin: W47 has ended there, not in UTC.
        (dt.datetime(2026, 11, 22, 23, 30, tzinfo=UTC), BERLIN, "2026-W47"),
        (dt.datetime(2026, 11, 22, 23, 30, tzinfo=UTC), "UTC", "2026-W46"),
        (dt.datetime(2026, 11, 22, 22, 59, tzinfo=UTC), BERLIN, "2026-W46"),
        (dt.datetime(2026, 11, 25, 12, 0, tzinfo=UTC), BERLIN, "2026-W47"),
        (dt.datetime(2027, 1, 4, 12, 0, tzinfo=UTC), BERLIN, "2026-W53"),
    ],
)
def test_last_complete_week(now: dt.datetime, timezone: str, week: str) -> None:
    """It takes the newest week that has fully ended in the pilot's timezone."""
    assert last_complete_week(timezone, now) == week


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("2026-47", "is not an ISO week"),
        ("2026-w47", "is not an ISO week"),
        ("26-W47", "is not an ISO week"),
        ("2026-W7", "is not an ISO week"),
        (" 2026-W47", "is not an ISO week"),
        ("2026-W47 ", "is not an ISO week"),
        ("2026-W00", "does not exist"),
        ("2026-W54", "does not exist"),
    ],
)
def test_parse_week_refuses_bad_labels(label: str, message: str) -> None:
    """It refuses labels that are not `YYYY-Www` or name a week that does not exist."""
    with pytest.raises(ValueError, match=message):
        parse_week(label)


def test_parse_week_refuses_a_trailing_newline() -> None:
    """It refuses a week label followed by a newline."""
    with pytest.raises(ValueError):
        parse_week("2026-W47\n")


@pytest.mark.parametrize(
    ("week", "by", "expected"),
    [
        ("2026-W53", 1, "2027-W01"),
        ("2027-W01", -1, "2026-W53"),
        ("2026-W52", 1, "2026-W53"),
        ("2025-W52", 1, "2026-W01"),
        ("2026-W01", -1, "2025-W52"),
        ("2026-W47", -8, "2026-W39"),
        ("2026-W47", 0, "2026-W47"),
    ],
)
def test_shift_week_across_year_boundaries(week: str, by: int, expected: str) -> None:
    """It moves by whole ISO weeks, including into and out of a 53-week year."""
    assert shift_week(week, by) == expected


def test_week_label_uses_the_iso_year() -> None:
    """It labels 2027-01-01 (a Friday) as the 53rd week of 2026."""
    assert week_label(dt.date(2027, 1, 1)) == "2026-W53"
    assert week_label(dt.date(2025, 12, 29)) == "2026-W01"


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


@pytest.mark.parametrize(
    ("day", "days"),
    [(dt.date(2026, 2, 10), 28), (dt.date(2028, 2, 1), 29), (dt.date(2026, 10, 31), 31)],
)
def test_days_in_month(day: dt.date, days: int) -> None:
    """It counts the days of the month a date falls in, leap years included."""
    assert days_in_month(day) == days
