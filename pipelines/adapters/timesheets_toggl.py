"""Toggl Track detailed report, "Download as CSV" (export-formats.md C1), onto timesheets.

Options (`sources.timesheets.<name>` in the operating model): `activity_map`,
`default_activity`, `ticket_id_pattern`, `person_timezones` and `timezone`, as for all the
timesheet adapters (see `timesheets_common`), and:

- `person_column`: `email` (default) takes the person from Email, else User; `user` from User,
  else Email (when rates and roles are keyed by name).
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import Field

from pipelines.adapters.base import Adapter, AdapterContext, Sniff, text
from pipelines.adapters.timesheets_common import (
    ClockOptions,
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

PERSON_COLUMNS = ("email", "user")


class TogglOptions(ClockOptions):
    """Toggl's options: the shared ones, and which column names the person."""

    person_column: Literal["email", "user"] = Field(
        default="email", description="email: the person is Email, else User; user: the reverse."
    )


# ---------------------------------------------------------------------------------------------
# Toggl

_TOGGL = frozenset({"description", "start date", "start time", "end date", "end time", "duration"})
_CLOCKIFY_DURATIONS = frozenset({"duration (h)", "duration (decimal)"})


def detect(sniff: Sniff) -> bool:
    """Toggl's detailed CSV: its English header (the same whatever the UI language; values such
    as Billable are localized). Clockify's has `Duration (h)` instead of `Duration`."""
    return (
        sniff.columns >= _TOGGL
        and bool({"email", "user"} & sniff.columns)
        and not (_CLOCKIFY_DURATIONS & sniff.columns)
    )


def transform(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Toggl rows as timesheet entries: person, local date, start instant, duration."""
    options = ctx.options(TogglOptions)
    order = PERSON_COLUMNS if options.person_column == "email" else PERSON_COLUMNS[::-1]
    person = pl.coalesce([optional(raw, c) for c in order])
    who = [optional(raw, "email"), optional(raw, "user")]
    zone, zones = zone_of(options, ctx.operating_model.timezone, who)
    start_date = read_date("start date", None)
    start = local_instant(start_date, read_time("start time"), zone, zones)
    end = local_instant(read_date("end date", None), read_time("end time"), zone, zones)
    given = text("duration")
    elapsed = hms_text(((end - start).dt.total_seconds()).cast(pl.Int64))
    tags = tag_list("tags") if "tags" in raw.columns else None
    frame = raw.with_columns(
        person.alias("person"),
        date_text("start date", None).alias("date"),
        instant_text(start).alias("start"),
        pl.coalesce(duration_value(given), given, elapsed).alias("duration"),
        *entry_columns(raw, options, tags, start_date, start, zone),
    )
    frame = with_reasons(frame, [pl.col("__problem")])
    return frame.select(
        LINE,
        READ_ERRORS,
        "person",
        "date",
        "start",
        "duration",
        "activity",
        "ticket_id",
    )


_ACTIVITY_WORDS = (
    "`activity_map`: a key equal to a tag, else to the Task, Project or Client, else found in "
    "the Description (case-insensitive; first key written wins within a field), else "
    "`default_activity`; with neither it stays empty and the row is quarantined (unclassified "
    "time is not taken as other)"
)
_TICKET_WORDS = (
    "`ticket_id_pattern` (default `#(\\d+)|\\[([A-Z][A-Z0-9]+-\\d+)\\]`) searched in {where}; "
    "empty when nothing matches"
)
_ZONE_WORDS = (
    "read in the person's zone (`person_timezones` by email or user name, else `timezone`, "
    "else the pilot's)"
)

ADAPTERS: list[Adapter] = [
    Adapter(
        name="toggl_detailed_csv",
        source="timesheets",
        title="Toggl Track detailed report CSV",
        target="timesheets",
        detect=detect,
        transform=transform,
        options=TogglOptions,
        mapping={
            "entry_id": "derived: hash of person, work_date, minutes, ticket_id and started_at",
            "person": "Email, else User (option person_column: user takes User first)",
            "work_date": "Start date (the person's local date)",
            "started_at": f"Start date + Start time, {_ZONE_WORDS}",
            "minutes": "Duration (H:MM:SS, decimal hours or 47m 6s), else End - Start",
            "activity": _ACTIVITY_WORDS,
            "ticket_id": _TICKET_WORDS.format(where="Description, then Tags"),
        },
    )
]
