"""How completely each source covers a week: missing (no rows), partial (no rows on a day the
source usually fills) or complete.

A source's *usual* days are the weekdays that held at least a tenth of its rows
(`USUAL_DAY_SHARE`) in at least half of the earlier weeks (up to `HISTORY_WEEKS` before this one)
in which it had rows at all, as the earlier runs stored them; without such a week, Monday to
Friday (`DEFAULT_USUAL_WEEKDAYS`). A day with its fair share holds a seventh of a week's rows;
a light day (a quiet Sunday) can go empty without anything being lost, a usual day cannot. A
source is *partial* when it has rows this week but none on one of its usual days. The review
log is a sample, not a daily feed: it is missing or not, never partial (`review.sample_spread`
judges its days).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from sqlalchemy import Connection, func, select

from models.results import (
    COVERED_SOURCES,
    METRIC_SOURCES,
    CoveredSource,
    SourceCoverage,
    Week,
    WeeklyMetrics,
)
from models.warehouse import UsageSummary

HISTORY_WEEKS = 4
DEFAULT_USUAL_WEEKDAYS = (1, 2, 3, 4, 5)
USUAL_DAY_SHARE = 0.1
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Sources whose rows are expected on every usual day (the review sample is not).
DAILY_SOURCES: tuple[CoveredSource, ...] = ("usage", "tickets", "timesheets")
# How a missing source is named in a reason ("no timesheets this week").
SOURCE_WORDS = {
    "usage": "model usage",
    "tickets": "solved tickets",
    "timesheets": "timesheets",
    "reviews": "reviews",
}


def usage_day_rows(conn: Connection, pilot: str, week: Week) -> list[int]:
    """Model calls per local weekday (Monday first) of the week, from the 15-minute usage
    summary (a bucket starts on the local day of its calls in any quarter-hour timezone)."""
    summary = UsageSummary.__table__
    buckets = conn.execute(
        select(summary.c.bucket_start, func.sum(summary.c.calls))
        .where(
            summary.c.pilot == pilot,
            summary.c.bucket_start >= week.start,
            summary.c.bucket_start < week.end,
        )
        .group_by(summary.c.bucket_start)
    ).all()
    frame = pl.DataFrame(
        {"t": [b[0] for b in buckets], "n": [int(b[1] or 0) for b in buckets]},
        schema={"t": pl.Datetime("us"), "n": pl.Int64},
    )
    return _day_rows(frame["t"], week, frame["n"])


def _day_rows(moments: pl.Series, week: Week, weights: pl.Series | None = None) -> list[int]:
    """Rows per local weekday (Monday first) of UTC timestamps (or plain dates)."""
    if moments.dtype == pl.Date:
        days = moments
    else:
        if moments.dtype.time_zone is None:  # type: ignore[union-attr]
            moments = moments.dt.replace_time_zone("UTC")
        days = moments.dt.convert_time_zone(week.timezone).dt.date()
    frame = pl.DataFrame(
        {
            "day": days.dt.weekday(),
            "n": weights if weights is not None else pl.repeat(1, len(days), eager=True),
        }
    ).drop_nulls()
    counts = dict(frame.group_by("day").agg(pl.col("n").sum()).iter_rows())
    return [int(counts.get(day, 0)) for day in range(1, 8)]


def week_day_rows(
    tickets: pl.DataFrame,
    timesheets: pl.DataFrame,
    reviews: pl.DataFrame,
    week: Week,
    usage_day_rows: Sequence[int] | None,
) -> dict[str, list[int] | None]:
    """Rows per local weekday of each source this week (usage: as read, or None unread)."""
    return {
        "usage": None if usage_day_rows is None else list(usage_day_rows),
        "tickets": _day_rows(tickets.get_column("solved_at"), week),
        "timesheets": _day_rows(timesheets.get_column("work_date"), week),
        "reviews": _day_rows(reviews.get_column("reviewed_at"), week),
    }


def usual_weekdays(
    source: CoveredSource, earlier: Sequence[WeeklyMetrics]
) -> tuple[list[int], str]:
    """The weekdays (1 = Monday) a source usually fills and where that comes from
    ("N earlier week(s)" or "default")."""
    seen = [
        m.sources[source].day_rows
        for m in earlier
        if source in m.sources and m.sources[source].rows > 0 and m.sources[source].day_rows
    ]
    if not seen:
        return list(DEFAULT_USUAL_WEEKDAYS), "default"
    usual = []
    for day in range(1, 8):
        full = sum(rows[day - 1] >= USUAL_DAY_SHARE * sum(rows) for rows in seen if sum(rows))
        if 2 * full >= len(seen):
            usual.append(day)
    return usual, f"{len(seen)} earlier week(s)"


def source_coverage(
    rows: dict[str, int],
    day_rows: dict[str, list[int] | None],
    earlier: Sequence[WeeklyMetrics] = (),
) -> dict[str, SourceCoverage]:
    """Each source's coverage of the week from its rows (in all and per weekday), against its
    usual days in the earlier weeks' stored metrics."""
    coverage = {}
    for source in COVERED_SOURCES:
        usual, basis = usual_weekdays(source, earlier)
        per_day = day_rows.get(source)
        days = None if per_day is None else [d for d in range(1, 8) if per_day[d - 1]]
        word = SOURCE_WORDS[source]
        state, reason = "complete", None
        if rows[source] == 0:
            state, reason = "missing", f"no {word} this week"
        elif source in DAILY_SOURCES and days is not None:
            absent = [d for d in usual if d not in days]
            if absent:
                state = "partial"
                reason = (
                    f"{word} cover {len([d for d in usual if d in days])} of the usual "
                    f"{len(usual)} days (none on {', '.join(DAY_NAMES[d - 1] for d in absent)})"
                )
        coverage[source] = SourceCoverage(
            rows=rows[source],
            day_rows=per_day,
            usual_weekdays=usual,
            usual_from=basis,
            state=state,  # type: ignore[arg-type]
            reason=reason,
        )
    return coverage


def affected(coverage: dict[str, SourceCoverage], state: str) -> dict[str, str]:
    """Metric name -> the reasons of the sources it needs that are in `state` (joined with "; ")."""
    found = {}
    for metric, sources in METRIC_SOURCES.items():
        reasons = [
            coverage[s].reason or s for s in sources if s in coverage and coverage[s].state == state
        ]
        if reasons:
            found[metric] = "; ".join(reasons)
    return found


# The month-to-date figures, which also need the earlier weeks of the month.
MONTH_METRICS = ("month_to_date_cost", "projected_month_cost")


def month_gaps(week: Week, earlier: Sequence[tuple[Week, WeeklyMetrics]]) -> dict[str, str]:
    """Month-to-date metric -> why it is unknown because an earlier week of the same month had
    no rows of a source it needs ("no timesheets in 2026-W43, earlier this month")."""
    reasons = []
    for before, stored in sorted(earlier, key=lambda pair: pair[0].label):
        if before.sunday < week.month_first:
            continue
        for source in METRIC_SOURCES["month_to_date_cost"]:
            coverage = stored.sources.get(source)
            if coverage is not None and coverage.state == "missing":
                reasons.append(f"no {SOURCE_WORDS[source]} in {before}, earlier this month")
    return dict.fromkeys(MONTH_METRICS, "; ".join(reasons)) if reasons else {}
