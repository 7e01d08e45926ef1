"""Freshdesk tickets: the UI ticket export (Tickets > Export, CSV).

export-formats.md B2. Status, priority and source are labels in the CSV; the time columns
(`Time tracked`, `First response time (in hrs)`, ...) are `HH:MM:SS` text despite their names.
Dates are in the account's timezone: read in the pilot's timezone (option `date_format` when
they are not `YYYY-MM-DD HH:MM[:SS]`).

`handle_minutes` is `Time tracked`: the time agents logged on the ticket. `contact_count` is
`Customer interactions`. Freshdesk records no reopen count in this export.
"""

from __future__ import annotations

import polars as pl

from pipelines.adapters.base import Adapter, AdapterContext, has_columns, local_datetime, text
from pipelines.adapters.tickets_common import (
    DRAFT_MAPPING,
    DatedTicketOptions,
    category_column,
    column_field,
    column_text,
    date_formats,
    draft_columns,
    keep_columns,
    split_tags,
    ticket_status,
)

_STATUSES = {
    "open": "open",
    "pending": "pending",
    "resolved": "solved",
    "closed": "closed",
    # Freshdesk's default custom statuses: the SLA clock waits on someone else.
    "waiting on customer": "pending",
    "waiting on third party": "hold",
    # The API's status numbers.
    "2": "open",
    "3": "pending",
    "4": "solved",
    "5": "closed",
}
_DATES = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


def hms_minutes(value: pl.Expr) -> pl.Expr:
    """`HH:MM:SS` (or `HH:MM`) text as minutes; other text passes through unchanged."""
    parts = value.str.extract_groups(r"^(\d+):(\d{1,2})(?::(\d{1,2}))?$")
    minutes = (
        parts.struct.field("1").cast(pl.Float64)
        + parts.struct.field("2").cast(pl.Float64) / 60
        + parts.struct.field("3").cast(pl.Float64).fill_null(0) / 3600
    ) * 60
    return pl.when(minutes.is_not_null()).then(minutes.round(4).cast(pl.String)).otherwise(value)


def transform(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Freshdesk export rows as canonical ticket rows."""
    options = ctx.options(DatedTicketOptions)
    formats = date_formats(options, _DATES)
    tags = split_tags(text("tags"), ",") if "tags" in raw.columns else None
    return raw.select(
        *keep_columns(raw),
        text("ticket id").alias("ticket_id"),
        local_datetime("created time", formats).alias("created_at"),
        (
            local_datetime("resolved time", formats)
            if "resolved time" in raw.columns
            else pl.lit(None, dtype=pl.String)
        ).alias("solved_at"),
        ticket_status(text("status"), options, _STATUSES).alias("status"),
        category_column(raw, options, "type").alias("category"),
        column_text(raw, "agent").alias("agent"),
        *draft_columns(options, tags, column_field(raw, "ai_draft_field")),
        hms_minutes(column_text(raw, "time tracked")).alias("handle_minutes"),
        column_text(raw, "customer interactions").alias("contact_count"),
    )


CSV_EXPORT = Adapter(
    name="freshdesk_csv",
    source="tickets",
    title="Freshdesk ticket export (CSV: Ticket ID, Created time, Status, ...)",
    target="tickets",
    detect=has_columns("ticket id", "created time", "status"),
    transform=transform,
    options=DatedTicketOptions,
    mapping={
        "ticket_id": "Ticket ID",
        "created_at": "Created time (account timezone; option date_format)",
        "solved_at": "Resolved time",
        "status": "Status (Open, Pending, Resolved -> solved, Closed, Waiting on Customer -> "
        "pending, Waiting on Third Party -> hold; option status_map)",
        "category": "option category_field (a column), default Type",
        "agent": "Agent",
        **DRAFT_MAPPING,
        "handle_minutes": "Time tracked (HH:MM:SS) in minutes",
        "contact_count": "Customer interactions",
    },
)

ADAPTERS: list[Adapter] = [CSV_EXPORT]
