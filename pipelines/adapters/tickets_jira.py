"""Jira Service Management issues: the CSV export (Export > CSV, all or current fields).

export-formats.md B3. Repeated headers (`Labels`, `Labels`, `Comment`, ...) arrive numbered
(`labels`, `labels__2`, ...); every `labels` column is one ticket's labels. Dates follow the
exporting user's locale, by default `dd/MMM/yy h:mm a` (`12/Mar/24 3:05 PM`); option
`date_format` (strftime or Java style) reads others. SLA columns (`Custom field (Time to first
response)`, negative when breached) and comments are not ticket columns and are not read.

Exports in Spanish, German, French or Portuguese are read too (`pipelines/adapters/
jira_locales.py`): their headers and status words as the English ones, their month names
(`12/ene/26`) as English, and day/month-only dates (`21/01/2026 14:05`) in the order the file
proves (`pipelines/adapters/date_order.py`).
"""

from __future__ import annotations

import re

import polars as pl

from pipelines.adapters.base import Adapter, AdapterContext, Sniff, local_datetime, text
from pipelines.adapters.date_order import infer_date_order
from pipelines.adapters.jira_locales import STATUSES, english_header, english_headers
from pipelines.adapters.locale_dates import english_months
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
    **STATUSES,
}
_DATES = (
    "%d/%b/%y %I:%M %p",
    "%d/%b/%Y %I:%M %p",
    "%d/%b/%y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
)
_REQUEST_TYPE = "custom field (request type)"
_NEEDED = frozenset({"issue key", "issue id", "created"})
# Year-last numeric dates with a 24-hour or 12-hour time, for files that write them.
_NUMERIC = {
    "day_first": ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%y %H:%M", "%d/%m/%Y %I:%M %p"),
    "month_first": ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%Y %I:%M %p"),
}
_LABELS = re.compile(r"^labels(__\d+)?$")


def _category(raw: pl.DataFrame, options: DatedTicketOptions) -> pl.Expr:
    name = options.category_field
    if name is not None:
        column = name.strip().lower()
        if column not in raw.columns:
            raise RefusedFile(f"option category_field: the file has no column {name!r}")
        return text(column)
    return pl.coalesce([column_text(raw, _REQUEST_TYPE), column_text(raw, "issue type")])


def detect(sniff: Sniff) -> bool:
    """Jira's CSV: Issue key, Issue id and Created, in English or a known translation."""
    return {english_header(c) for c in sniff.columns} >= _NEEDED


detect.columns = _NEEDED  # type: ignore[attr-defined]  # for the closest-format refusal


def transform(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Jira issues as canonical ticket rows."""
    options = ctx.options(DatedTicketOptions)
    raw = raw.rename(english_headers(raw.columns))
    dated = [c for c in ("created", "resolved") if c in raw.columns]
    raw = raw.with_columns(english_months(text(c)).alias(c) for c in dated)
    formats = date_formats(options, _DATES)
    if not options.date_format:
        choice = infer_date_order(raw, dated, None, ctx.operating_model.timezone)
        ctx.choices["date_order"] = {"value": choice.order, "chosen_by": choice.reason}
        formats += _NUMERIC.get(choice.order or "", ())
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
    detect=detect,
    transform=transform,
    options=DatedTicketOptions,
    mapping={
        "ticket_id": "Issue key",
        "created_at": "Created (dd/MMM/yy h:mm a in the exporting user's timezone, month names "
        "in English, Spanish, German, French or Portuguese; dd/mm/yyyy HH:mm in the order the "
        "file proves; option date_format)",
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
