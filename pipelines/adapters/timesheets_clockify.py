"""Clockify detailed report, Export CSV (export-formats.md C3), onto timesheets.

Dates and times follow the exporting user's format settings: `2026-03-02` + `09:00:00`, or US
`03/04/2024` + `01:30:00 PM`, or day-first `04/03/2024` + `13:30`. Wall-clock times carry no
offset; they are read in the person's timezone.

Options: `activity_map`, `default_activity`, `ticket_id_pattern`, `person_timezones`, `timezone`
as for Toggl, and `date_order` (`month_first` or `day_first`): how year-last dates with `/` or `-`
are read when the file's own values do not prove the order (`pipelines/adapters/date_order.py`:
a day above 12 proves it; a file proving both orders is refused; unset, the pilot timezone's
convention). `dd.mm.yyyy` dates are always day first.
"""

from __future__ import annotations

import polars as pl
from pydantic import Field

from pipelines.adapters.base import Adapter, AdapterContext, Sniff, text
from pipelines.adapters.timesheets_common import (
    ClockOptions,
    DateOrder,
    date_order,
    date_text,
    duration_value,
    entry_columns,
    hms_text,
    instant_text,
    local_instant,
    optional,
    read_date,
    read_time,
    tag_list,
    with_reasons,
    zone_of,
)
from pipelines.read import LINE, READ_ERRORS

_CLOCKIFY = frozenset({"description", "start date", "start time", "end date", "end time"})
_DURATIONS = ("duration (h)", "duration (decimal)")


class ClockifyOptions(ClockOptions):
    """Clockify's options: the shared ones, and how slashed dates are read."""

    date_order: DateOrder | None = Field(
        default=None,
        description="How dates like 03/04/2024 are read when the file does not prove the order.",
    )


def detect(sniff: Sniff) -> bool:
    """Clockify's detailed CSV: Start/End Date and Time, and `Duration (h)`, `Duration
    (decimal)` or neither (an export of start and end only; Toggl's has a plain `Duration`)."""
    return (
        sniff.columns >= _CLOCKIFY
        and bool({"email", "user"} & sniff.columns)
        and "duration" not in sniff.columns
    )


detect.columns = _CLOCKIFY  # type: ignore[attr-defined]  # for the closest-format refusal


def transform(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Clockify rows as timesheet entries: person, local date, start instant, duration."""
    options = ctx.options(ClockifyOptions)
    order = date_order(raw, ctx, options.date_order, ("start date", "end date"), options.timezone)
    email, user = optional(raw, "email"), optional(raw, "user")
    zone, zones = zone_of(options, ctx.operating_model.timezone, [email, user])
    start_date = read_date("start date", order)
    start = local_instant(start_date, read_time("start time"), zone, zones)
    end = local_instant(read_date("end date", order), read_time("end time"), zone, zones)
    # The recorded duration (to the second; `Duration (decimal)` is rounded to 1/100 h) first,
    # then end - start (12-hour times often lack seconds). Unreadable text passes through.
    given = [optional(raw, c) for c in _DURATIONS]
    elapsed = hms_text((end - start).dt.total_seconds().cast(pl.Int64))
    tags = tag_list("tags") if "tags" in raw.columns else None
    exprs = [
        pl.coalesce(email, user).alias("person"),
        date_text("start date", order).alias("date"),
        instant_text(start).alias("start"),
        pl.coalesce([*(duration_value(g) for g in given), *given, elapsed]).alias("duration"),
        *entry_columns(raw, options, tags, start_date, start, zone),
    ]
    columns = ["person", "date", "start", "duration", "activity", "ticket_id"]
    if "id" in raw.columns:  # some variants carry Clockify's time entry id
        exprs.append(text("id").alias("entry_id"))
        columns.insert(0, "entry_id")
    frame = with_reasons(raw.with_columns(exprs), [pl.col("__problem")])
    return frame.select(LINE, READ_ERRORS, *columns)


ADAPTERS: list[Adapter] = [
    Adapter(
        name="clockify_detailed_csv",
        source="timesheets",
        title="Clockify detailed report CSV",
        target="timesheets",
        detect=detect,
        transform=transform,
        options=ClockifyOptions,
        mapping={
            "entry_id": (
                "Id when the export has it, else derived: hash of person, work_date, minutes, "
                "ticket_id and started_at"
            ),
            "person": "Email, else User",
            "work_date": (
                "Start Date (the person's local date; slashed dates in the order the file "
                "proves, else `date_order`, else the pilot timezone's convention)"
            ),
            "started_at": (
                "Start Date + Start Time (24-hour or 12-hour), read in the person's zone "
                "(`person_timezones` by email or user name, else `timezone`, else the pilot's)"
            ),
            "minutes": "Duration (h) (H:MM:SS), else Duration (decimal) hours, else End - Start "
            "(an export without duration columns)",
            "activity": (
                "`activity_map`: a key equal to a tag, else to the Task, Project or Client, "
                "else found in the Description (case-insensitive; first key written wins "
                "within a field), else `default_activity`; with neither it stays empty and the "
                "row is quarantined (unclassified time is not taken as other)"
            ),
            "ticket_id": (
                "`ticket_id_pattern` (default `#(\\d+)|\\[([A-Z][A-Z0-9]+-\\d+)\\]`) searched "
                "in Description, then Tags; empty when nothing matches"
            ),
        },
    )
]
