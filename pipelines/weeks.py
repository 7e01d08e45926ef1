"""ISO weeks in a pilot's timezone as polars sees them, and bounds for callers holding a label.

The week itself (label, timezone, local days, UTC bounds) is `models.results.Week`.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from models.operating_model import OperatingModel
from models.results import Week


def pilot_week(operating_model: OperatingModel, week: Week) -> Week:
    """The week, when it is in the pilot's timezone; ValueError when it is not (its days and
    bounds would be another timezone's)."""
    if week.timezone != operating_model.timezone:
        raise ValueError(
            f"week {week} is in {week.timezone}, pilot {operating_model.pilot} in "
            f"{operating_model.timezone}: parse the week in the pilot's timezone"
        )
    return week


def week_bounds_utc(week: str, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a labelled week in UTC: Monday 00:00 to the next Monday 00:00, local."""
    parsed = Week.parse(week, timezone)
    return parsed.start, parsed.end


def week_expr(column: str, timezone: str, is_date: bool = False) -> pl.Expr:
    """ISO week label of a UTC timestamp (or plain date) column, in the timezone."""
    day = pl.col(column) if is_date else pl.col(column).dt.convert_time_zone(timezone).dt.date()
    return pl.format("{}-W{}", day.dt.iso_year(), day.dt.week().cast(pl.String).str.zfill(2))


def rows_per_week(frame: pl.DataFrame, columns: tuple[str, ...], timezone: str) -> dict[str, int]:
    """ISO week (in the timezone) -> number of rows in it; a row's week is that of the first of
    `columns` it has a value in (a ticket: its solve time, else its creation time).

    Rows are first counted per date, or per 15-minute UTC span (every timezone's offset is a
    multiple of 15 minutes, so a span never crosses a local midnight): the week labels are then
    made for the few spans, not for each of millions of rows."""
    present = [c for c in columns if c in frame.columns]
    if not present or frame.is_empty():
        return {}
    is_date = all(frame.schema[c] == pl.Date for c in present)
    moment = pl.coalesce([pl.col(c) for c in present]).alias("__moment")
    spans = frame.select(moment if is_date else moment.dt.truncate("15m")).drop_nulls()
    counts = spans.group_by("__moment").len()
    labelled = counts.select(week_expr("__moment", timezone, is_date).alias("week"), "len")
    totals = labelled.group_by("week").agg(pl.col("len").sum()).sort("week")
    return {week: int(n) for week, n in totals.iter_rows()}
