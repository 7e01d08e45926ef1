"""ISO weeks in a pilot's timezone: labels like `2026-W47` and their UTC bounds."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from zoneinfo import ZoneInfo

import polars as pl

_WEEK = re.compile(r"(\d{4})-W(\d{2})")


def parse_week(week: str) -> tuple[int, int]:
    """(year, week number) of a `YYYY-Www` label; ValueError when it is not one."""
    match = _WEEK.fullmatch(week)
    if not match:
        raise ValueError(f"week {week!r} is not an ISO week like 2026-W47")
    year, number = int(match[1]), int(match[2])
    try:
        dt.date.fromisocalendar(year, number, 1)
    except ValueError as exc:
        raise ValueError(f"week {week!r} does not exist") from exc
    return year, number


def week_label(day: dt.date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def week_days(week: str) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of a week."""
    year, number = parse_week(week)
    monday = dt.date.fromisocalendar(year, number, 1)
    return monday, monday + dt.timedelta(days=6)


def week_bounds_utc(week: str, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a week in UTC: Monday 00:00 to the next Monday 00:00, local time."""
    monday, _ = week_days(week)
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(monday, dt.time(), zone)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def shift_week(week: str, weeks: int) -> str:
    monday, _ = week_days(week)
    return week_label(monday + dt.timedelta(weeks=weeks))


def last_complete_week(timezone: str, now: dt.datetime | None = None) -> str:
    """The newest week that has fully ended in the timezone."""
    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(ZoneInfo(timezone)).date()
    return week_label(today - dt.timedelta(days=today.isoweekday()))


def days_in_month(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def week_expr(column: str, timezone: str, is_date: bool = False) -> pl.Expr:
    """ISO week label of a UTC timestamp (or plain date) column, in the timezone."""
    day = pl.col(column) if is_date else pl.col(column).dt.convert_time_zone(timezone).dt.date()
    return pl.format("{}-W{}", day.dt.iso_year(), day.dt.week().cast(pl.String).str.zfill(2))
