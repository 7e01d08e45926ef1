"""Harvest detailed time report export (export-formats.md C2), onto timesheets.

Harvest records a local date and decimal hours per entry, no start or end time, so entries have
no `started_at`. Files that went through Excel in Europe come back semicolon-delimited with
decimal commas (`1,5`) and `dd.mm.yyyy` dates; the reader finds the delimiter, this adapter
reads the rest. Headers are matched by name (their order varies by account and version).

Options: `activity_map`, `default_activity`, `ticket_id_pattern` as for Toggl (the keys match
the task, project or client, or words in the notes), and `date_order` (`month_first` or
`day_first`, default none): how year-last dates with `/` or `-` are read. Harvest writes ISO dates,
so without it such a date is not guessed at and the row is quarantined.
"""

from __future__ import annotations

import polars as pl
from pydantic import Field

from pipelines.adapters.base import Adapter, AdapterContext, Sniff, text
from pipelines.adapters.timesheets_common import (
    ActivityOptions,
    DateOrder,
    activity,
    date_order,
    date_text,
    duration_value,
    optional,
    stable_id,
    ticket_id,
    with_reasons,
)
from pipelines.read import LINE, READ_ERRORS

_HARVEST = frozenset({"date", "hours", "first name", "last name", "project", "task"})
# The id a linked item's URL ends with: a Zendesk/Freshdesk number or a Jira key.
_URL_TICKET = r"/([A-Za-z][A-Za-z0-9]*-\d+|\d+)/?(?:[?#].*)?$"


class HarvestOptions(ActivityOptions):
    """Harvest's options: the shared ones (no wall-clock times), and how slashed dates are read."""

    date_order: DateOrder | None = Field(
        default=None,
        description="How dates like 03/04/2024 are read when the file does not prove the order.",
    )


def detect(sniff: Sniff) -> bool:
    """Harvest's detailed export: Date, Hours, First Name, Last Name, Project and Task."""
    return sniff.columns >= _HARVEST


def transform(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Harvest rows as timesheet entries: person, local date, hours; no start time."""
    options = ctx.options(HarvestOptions)
    order = date_order(raw, ctx, options.date_order, ("date",))
    name = pl.concat_str([text("first name"), text("last name")], separator=" ", ignore_nulls=True)
    person = pl.coalesce(optional(raw, "email"), pl.when(name == "").then(None).otherwise(name))
    hours = text("hours")
    notes = optional(raw, "notes")
    reference = optional(raw, "external reference url")
    exact = [optional(raw, c) for c in ("task", "project", "client")]
    frame = raw.with_columns(
        person.alias("person"),
        date_text("date", order).alias("date"),
        pl.coalesce(duration_value(hours), hours).alias("duration"),
        activity(options, None, exact=exact, keywords=[notes]).alias("activity"),
        pl.coalesce(reference.str.extract(_URL_TICKET, 1), ticket_id(options, [notes])).alias(
            "ticket_id"
        ),
    )
    # Harvest has no entry id and no start time: the date, hours and person alone would give
    # two half-hour entries of one day the same key, so the entry's project, task and notes
    # are hashed too; a repeat of all of them is numbered.
    key = stable_id(
        [pl.col(c) for c in ("person", "date", "duration", "ticket_id")]
        + exact
        + [notes, reference]
    )
    nth = pl.int_range(pl.len()).over(key)
    frame = frame.with_columns(
        pl.when(nth == 0).then(key).otherwise(pl.format("{}-{}", key, nth + 1)).alias("entry_id")
    )
    frame = with_reasons(frame, [])
    return frame.select(
        LINE, READ_ERRORS, "entry_id", "person", "date", "duration", "activity", "ticket_id"
    )


ADAPTERS: list[Adapter] = [
    Adapter(
        name="harvest_detailed_csv",
        source="timesheets",
        title="Harvest detailed time report export",
        target="timesheets",
        detect=detect,
        transform=transform,
        options=HarvestOptions,
        mapping={
            "entry_id": (
                "derived: hash of person, Date, Hours, ticket id, Task, Project, Client, Notes "
                "and External Reference URL (numbered when repeated); Harvest exports no id"
            ),
            "person": "Email when the export has it, else First Name + Last Name",
            "work_date": (
                "Date (YYYY-MM-DD, dd.mm.yyyy, or slashed dates in the order the file proves, else "
                "`date_order`, else the pilot timezone's convention)"
            ),
            "started_at": "not recorded by Harvest (empty)",
            "minutes": "Hours (decimal hours, dot or comma) x 60",
            "activity": (
                "`activity_map`: a key equal to the Task, else the Project, else the Client, "
                "else found in the Notes (case-insensitive; first key written wins within a "
                "field), else `default_activity`; with neither it stays empty and the row is "
                "quarantined (unclassified time is not taken as other)"
            ),
            "ticket_id": (
                "the id at the end of External Reference URL (a linked Zendesk ticket or Jira "
                "issue), else `ticket_id_pattern` searched in Notes; empty when nothing matches"
            ),
        },
    )
]
