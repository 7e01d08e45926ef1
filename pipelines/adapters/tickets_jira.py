"""Jira Service Management issues: the CSV export (Export > CSV, all or current fields).

export-formats.md B3. Repeated headers (`Labels`, `Labels`, `Comment`, ...) arrive numbered
(`labels`, `labels__2`, ...); every `labels` column is one ticket's labels. Dates follow the
exporting user's locale, by default `dd/MMM/yy h:mm a` (`12/Mar/24 3:05 PM`); option
`date_format` (strftime or Java style) reads others. SLA columns (`Custom field (Time to first
response)`, negative when breached) and comments are not ticket columns and are not read.
"""

from __future__ import annotations

import re

import polars as pl

from pipelines.adapters.base import Adapter, AdapterContext, has_columns, local_datetime, text
from pipelines.adapters.tickets_common import (
    DRAFT_MAPPING,
    DatedTicketOptions,
    column_field,
    column_text,
    date_formats,
    draft_columns,
    keep_columns,
    ticket_status,
)
from pipelines.read import RefusedFile

_STATUSES = {
    "to do": "open",
    "in progress": "open",
    "work in progress": "open",
    "waiting for support": "open",
    "reopened": "open",
    "waiting for customer": "pending",
    "resolved": "solved",
    "done": "solved",
}
_DATES = (
    "%d/%b/%y %I:%M %p",
    "%d/%b/%Y %I:%M %p",
    "%d/%b/%y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
)
_REQUEST_TYPE = "custom field (request type)"
_LABELS = re.compile(r"^labels(__\d+)?$")


def _category(raw: pl.DataFrame, options: DatedTicketOptions) -> pl.Expr:
    name = options.category_field
    if name is not None:
        column = name.strip().lower()
        if column not in raw.columns:
            raise RefusedFile(f"option category_field: the file has no column {name!r}")
        return text(column)
    return pl.coalesce([column_text(raw, _REQUEST_TYPE), column_text(raw, "issue type")])


def transform(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Jira issues as canonical ticket rows."""
    options = ctx.options(DatedTicketOptions)
    formats = date_formats(options, _DATES)
    labels = [c for c in raw.columns if _LABELS.match(c)]
    tags = pl.concat_list([text(c) for c in labels]).list.drop_nulls() if labels else None
    return raw.select(
        *keep_columns(raw),
        text("issue key").alias("ticket_id"),
        local_datetime("created", formats).alias("created_at"),
        (
            local_datetime("resolved", formats)
            if "resolved" in raw.columns
            else pl.lit(None, dtype=pl.String)
        ).alias("solved_at"),
        ticket_status(column_text(raw, "status"), options, _STATUSES).alias("status"),
        _category(raw, options).alias("category"),
        column_text(raw, "assignee").alias("agent"),
        *draft_columns(options, tags, column_field(raw, "ai_draft_field")),
    )


CSV_EXPORT = Adapter(
    name="jira_csv",
    source="tickets",
    title="Jira Service Management issue export (CSV: Issue key, Issue id, Created, ...)",
    target="tickets",
    detect=has_columns("issue key", "issue id", "created"),
    transform=transform,
    options=DatedTicketOptions,
    mapping={
        "ticket_id": "Issue key",
        "created_at": "Created (dd/MMM/yy h:mm a in the exporting user's timezone; option "
        "date_format)",
        "solved_at": "Resolved",
        "status": "Status (To Do, In Progress, Waiting for support, Reopened -> open; Waiting "
        "for customer -> pending; Resolved, Done -> solved; Closed; option status_map)",
        "category": "option category_field (a column), else Custom field (Request Type), else "
        "Issue Type",
        "agent": "Assignee",
        **DRAFT_MAPPING,
    },
)

ADAPTERS: list[Adapter] = [CSV_EXPORT]
