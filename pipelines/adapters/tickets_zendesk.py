"""Zendesk tickets: the API ticket page (with ticket metrics side-loaded) and the Fivetran tables.

export-formats.md B1. The API page (`{"tickets": [...]}` from the Tickets API or the incremental
export, `include=metric_sets`) gives one row per ticket; `solved_at` and `reopens` come from the
ticket's metric set. The Fivetran `ticket` table gives one row per ticket without tags or solve
time; its `ticket_tag`, `ticket_field_history` and `ticket_comment` tables become ticket labels
(facts use them for what the ticket row lacks). Comment bodies are never kept: a comment label
holds the comment id only.

Options (`sources.tickets.<name>`; the shared `TicketOptions`, and `ApiOptions` of the API page;
the tag and field-history tables declare the AI-draft ones, read when tickets are completed):
- `category_field`: where the category comes from: a ticket column (default `type`) or, on the
  API page, a custom field id (`27642` or `custom_field_27642`).
- `ai_draft_tags`: tags meaning an AI draft was used (true when the ticket has one, false when
  its tags are known and lack them).
- `ai_draft_field`: a field (custom field id on the API page, a column otherwise) holding
  true/false.
- `draft_outcome_tags`: `{tag: outcome}`; the first tag of the option the ticket has wins.
- `draft_outcome_field`: a field holding the outcome word.
- `status_map`: `{vendor status: canonical status}` added to the built-in words.

API page only:
- `ticket_id_field`: where the ticket id comes from (default `id`; e.g. `external_id`, the
  id of the ticket in the team's own records, or a custom field id).
- `agent_field`: where the agent comes from (default `assignee_id`; `assignee_name` or
  `assignee_email` read the assignee from the users side-loaded with `include=users`).
- `handle_seconds_field`: a custom field id (or ticket field) holding the time spent on the
  ticket in seconds, as the Time Tracking app's "Total time spent (sec)" field does; it becomes
  `handle_minutes`. Without it the handle time stays unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
from pydantic import Field

from pipelines.adapters.base import (
    SKIPPED,
    SUPERSEDED,
    Adapter,
    AdapterContext,
    has_columns,
    has_paths,
    text,
)
from pipelines.adapters.tickets_common import (
    DRAFT_MAPPING,
    DraftOptions,
    TicketOptions,
    category_column,
    column_field,
    column_text,
    deleted_ticket,
    draft_columns,
    keep_columns,
    naive_utc,
    superseded,
    ticket_status,
)
from pipelines.read import LINE, RefusedFile, cell_text

# --- Zendesk API ticket page ------------------------------------------------------------------


class ApiOptions(TicketOptions):
    """Options of the API ticket page: where the id, the agent and the handle time come from."""

    ticket_id_field: str | None = Field(
        default=None, description="The ticket id's field (e.g. external_id), default id."
    )
    agent_field: str | None = Field(
        default=None,
        description="The agent's field (assignee_name / assignee_email), default assignee_id.",
    )
    handle_seconds_field: str | None = Field(
        default=None, description="A custom field id holding the seconds spent on the ticket."
    )


_API_STATUSES = {"on-hold": "hold", "on_hold": "hold"}
_METRIC_KEYS = ("metric_sets", "ticket_metrics")


def read_api_page(value: Any) -> pl.DataFrame:
    """One row per ticket of a Tickets API / incremental export page.

    Each custom field becomes a column `custom_field_<id>`; the ticket's metric set (inline
    `metric_set`, or side-loaded `metric_sets` / `ticket_metrics` matched by `ticket_id`)
    becomes the JSON text column `metric_set`; with side-loaded `users` the assignee's name and
    email become `assignee_name` and `assignee_email`.
    """
    if not isinstance(value, dict) or not isinstance(value.get("tickets"), list):
        raise RefusedFile("Zendesk page without a tickets list")
    metrics: dict[str, Any] = {}
    for key in _METRIC_KEYS:
        for item in value.get(key) or []:
            if isinstance(item, dict) and item.get("ticket_id") is not None:
                metrics[str(item["ticket_id"])] = item
    users: dict[str, dict[str, Any]] = {}
    for item in value.get("users") or []:
        if isinstance(item, dict) and item.get("id") is not None:
            users[str(item["id"])] = item
    records: list[dict[str, str | None]] = []
    for ticket in value["tickets"]:
        if not isinstance(ticket, dict):
            raise RefusedFile("Zendesk page holds tickets that are not objects")
        record = {k: cell_text(v) for k, v in ticket.items()}
        for item in ticket.get("custom_fields") or []:
            if isinstance(item, dict) and item.get("id") is not None:
                record[f"custom_field_{item['id']}"] = cell_text(item.get("value"))
        metric = ticket.get("metric_set") or metrics.get(str(ticket.get("id")))
        record["metric_set"] = cell_text(metric)
        if users:
            assignee = users.get(str(ticket.get("assignee_id")), {})
            record["assignee_name"] = cell_text(assignee.get("name"))
            record["assignee_email"] = cell_text(assignee.get("email"))
        records.append(record)
    if not records:
        raise RefusedFile("empty file (no tickets)")
    columns = list(dict.fromkeys(k for r in records for k in r))
    frame = pl.DataFrame(
        {c: [r.get(c) for r in records] for c in columns}, schema={c: pl.String for c in columns}
    )
    return frame.with_row_index(LINE, offset=1)


def _api_field_name(name: str) -> str:
    name = name.strip()
    return f"custom_field_{name}" if name.isdigit() else name.lower()


def _api_field(raw: pl.DataFrame, option: str) -> Callable[[str], pl.Expr]:
    def field(name: str) -> pl.Expr:
        column = _api_field_name(name)
        if column not in raw.columns:
            raise RefusedFile(f"option {option}: no ticket has the field {name!r}")
        return text(column)

    return field


def _metric(raw: pl.DataFrame, path: str) -> pl.Expr:
    if "metric_set" not in raw.columns:
        return pl.lit(None, dtype=pl.String)
    return text("metric_set").str.json_path_match(path)


def _api_option(raw: pl.DataFrame, name: str | None, option: str, default: str) -> pl.Expr:
    """The field an option names (a ticket field or custom field id), else the default field."""
    if name is None:
        return column_text(raw, default)
    return _api_field(raw, option)(name)


def _seconds_as_minutes(value: pl.Expr) -> pl.Expr:
    """Seconds as minutes text; text that is not a number passes through unchanged.

    Divided by numpy, which rounds each quotient correctly (polars multiplies by the
    reciprocal), so 222 seconds are exactly the 3.7 minutes a canonical file would hold."""
    seconds = value.cast(pl.Float64, strict=False)
    minutes = seconds.map_batches(
        lambda s: pl.Series(s.to_numpy() / 60.0, dtype=pl.Float64, nan_to_null=True),
        return_dtype=pl.Float64,
    )
    return pl.coalesce(minutes.cast(pl.String), value)


def transform_api(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Zendesk API tickets as canonical ticket rows."""
    options = ctx.options(ApiOptions)
    category_expr = _api_option(raw, options.category_field, "category_field", "type")
    handle = options.handle_seconds_field
    handle_expr = (
        _seconds_as_minutes(_api_field(raw, "handle_seconds_field")(handle))
        if handle is not None
        else pl.lit(None, dtype=pl.String)
    )
    tags = text("tags").str.json_decode(pl.List(pl.String)) if "tags" in raw.columns else None
    version = column_text(raw, "updated_at")
    return raw.select(
        *keep_columns(raw),
        _api_option(raw, options.ticket_id_field, "ticket_id_field", "id").alias("ticket_id"),
        column_text(raw, "created_at").alias("created_at"),
        _metric(raw, "$.solved_at").alias("solved_at"),
        ticket_status(column_text(raw, "status"), options, _API_STATUSES).alias("status"),
        category_expr.alias("category"),
        _api_option(raw, options.agent_field, "agent_field", "assignee_id").alias("agent"),
        *draft_columns(options, tags, _api_field(raw, "ai_draft_field")),
        _metric(raw, "$.reopens").alias("reopened"),
        handle_expr.alias("handle_minutes"),
        superseded(raw, text("id"), version).alias(SUPERSEDED),
        deleted_ticket(column_text(raw, "status")).alias(SKIPPED),
    )


API_TICKETS = Adapter(
    name="zendesk_api",
    source="tickets",
    title="Zendesk Tickets API / incremental export page (tickets[], metric_sets side-loaded)",
    target="tickets",
    detect=has_paths("tickets[].id", "tickets[].status", "tickets[].created_at"),
    transform=transform_api,
    read_document=read_api_page,
    options=ApiOptions,
    mapping={
        "ticket_id": "option ticket_id_field (a ticket field such as external_id, or a custom "
        "field id), default id",
        "created_at": "created_at (ISO 8601 UTC)",
        "solved_at": "metric set solved_at (side-loaded metric_sets / ticket_metrics); null "
        "when the page has no metrics",
        "status": "status (new/open/pending/hold/solved/closed; deleted tickets are skipped)",
        "category": "option category_field (a ticket field or custom field id), default type",
        "agent": "option agent_field (assignee_name / assignee_email from side-loaded users, "
        "or a ticket field), default assignee_id",
        **DRAFT_MAPPING,
        "reopened": "metric set reopens",
        "handle_minutes": "option handle_seconds_field (a custom field id holding seconds, such "
        "as the Time Tracking app's total time spent) / 60; unknown (null) without it",
        SUPERSEDED: "an older version (updated_at) of a ticket listed again on the page",
    },
)


# --- Zendesk via Fivetran ---------------------------------------------------------------------


def transform_fivetran_tickets(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Fivetran `ticket` rows as canonical ticket rows (no tags, no solve time: see labels)."""
    options = ctx.options(TicketOptions)
    return raw.select(
        *keep_columns(raw),
        text("id").alias("ticket_id"),
        naive_utc("created_at").alias("created_at"),
        ticket_status(text("status"), options, _API_STATUSES).alias("status"),
        category_column(raw, options, "type").alias("category"),
        column_text(raw, "assignee_id").alias("agent"),
        *draft_columns(options, None, column_field(raw, "ai_draft_field")),
        superseded(raw, text("id"), column_text(raw, "updated_at")).alias(SUPERSEDED),
        deleted_ticket(text("status")).alias(SKIPPED),
    )


def _label_id(*parts: pl.Expr) -> pl.Expr:
    return pl.concat_str([p.fill_null("") for p in parts], separator="|")


def transform_fivetran_tags(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Fivetran `ticket_tag` rows as `tag` labels (a snapshot: no time)."""
    label = _label_id(pl.lit("zendesk"), text("ticket_id"), pl.lit("tag"), text("tag"))
    return raw.select(
        *keep_columns(raw),
        label.alias("label_id"),
        text("ticket_id").alias("ticket_id"),
        pl.lit("tag").alias("name"),
        text("tag").alias("value"),
        pl.lit(None, dtype=pl.String).alias("labelled_at"),
        superseded(raw, label, column_text(raw, "_fivetran_synced")).alias(SUPERSEDED),
    )


def transform_fivetran_field_history(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Fivetran `ticket_field_history` rows as field labels, one per value set."""
    label = _label_id(
        pl.lit("zendesk"), text("ticket_id"), text("field_name"), text("updated"), text("value")
    )
    return raw.select(
        *keep_columns(raw),
        label.alias("label_id"),
        text("ticket_id").alias("ticket_id"),
        text("field_name").alias("name"),
        text("value").alias("value"),
        naive_utc("updated").alias("labelled_at"),
        superseded(raw, label, column_text(raw, "_fivetran_synced")).alias(SUPERSEDED),
    )


def transform_fivetran_comments(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Fivetran `ticket_comment` rows as comment labels holding the comment id, never the body."""
    public = column_text(raw, "public").str.to_lowercase()
    label = _label_id(pl.lit("zendesk"), text("ticket_id"), pl.lit("comment"), text("id"))
    return raw.select(
        *keep_columns(raw),
        label.alias("label_id"),
        text("ticket_id").alias("ticket_id"),
        pl.when(public.is_in(["true", "t", "1", "yes"]))
        .then(pl.lit("public_comment"))
        .otherwise(pl.lit("comment"))
        .alias("name"),
        text("id").alias("value"),
        naive_utc("created").alias("labelled_at"),
        superseded(raw, label, column_text(raw, "_fivetran_synced")).alias(SUPERSEDED),
    )


FIVETRAN_TICKETS = Adapter(
    name="zendesk_fivetran_tickets",
    source="tickets",
    title="Zendesk ticket table synced by Fivetran (ticket_data)",
    target="tickets",
    detect=has_columns(
        "id", "_fivetran_synced", "created_at", "status", "requester_id", "ticket_form_id"
    ),
    transform=transform_fivetran_tickets,
    options=TicketOptions,
    mapping={
        "ticket_id": "id",
        "created_at": "created_at (naive UTC)",
        "status": "status (new/open/pending/hold/solved/closed; deleted tickets are skipped)",
        "category": "option category_field (a column), default type",
        "agent": "assignee_id",
        "ai_draft_used": "option ai_draft_field (a column), else unknown (null); tags are in "
        "the ticket_tag table (ticket labels)",
        "draft_outcome": "option draft_outcome_field (a column), else unknown (null)",
        SUPERSEDED: "an older version (updated_at) of a ticket listed again",
    },
)

FIVETRAN_TAGS = Adapter(
    name="zendesk_fivetran_tags",
    source="tickets",
    title="Zendesk ticket tags synced by Fivetran (ticket_tag_data)",
    target="ticket_labels",
    detect=lambda s: (
        {"tag", "ticket_id", "_fivetran_synced"} <= s.columns and "field_name" not in s.columns
    ),
    transform=transform_fivetran_tags,
    options=DraftOptions,  # read when tickets are completed from their labels
    mapping={
        "label_id": "zendesk|ticket_id|tag|<tag>",
        "ticket_id": "ticket_id",
        "name": '"tag"',
        "value": "tag",
        "labelled_at": "null (the table is a snapshot of current tags)",
        SUPERSEDED: "the same tag of the same ticket listed again with an older sync time",
    },
)

FIVETRAN_FIELD_HISTORY = Adapter(
    name="zendesk_fivetran_field_history",
    source="tickets",
    title="Zendesk ticket field history synced by Fivetran (ticket_field_history_data)",
    target="ticket_labels",
    detect=has_columns("field_name", "ticket_id", "updated", "value", "_fivetran_synced"),
    transform=transform_fivetran_field_history,
    options=DraftOptions,  # read when tickets are completed from their labels
    mapping={
        "label_id": "zendesk|ticket_id|field_name|updated|value",
        "ticket_id": "ticket_id",
        "name": "field_name (status, assignee_id, priority, custom fields ...)",
        "value": "value",
        "labelled_at": "updated (naive UTC)",
        SUPERSEDED: "the same change listed again with an older sync time",
    },
)

FIVETRAN_COMMENTS = Adapter(
    name="zendesk_fivetran_comments",
    source="tickets",
    title="Zendesk ticket comments synced by Fivetran (ticket_comment_data; bodies not kept)",
    target="ticket_labels",
    detect=has_columns("id", "ticket_id", "created", "public", "body", "_fivetran_synced"),
    transform=transform_fivetran_comments,
    mapping={
        "label_id": "zendesk|ticket_id|comment|id",
        "ticket_id": "ticket_id",
        "name": '"public_comment" when public is true, else "comment"',
        "value": "id (the comment id; the body text is never kept)",
        "labelled_at": "created (naive UTC)",
        SUPERSEDED: "the same comment listed again with an older sync time",
    },
)

ADAPTERS: list[Adapter] = [
    API_TICKETS,
    FIVETRAN_TICKETS,
    FIVETRAN_TAGS,
    FIVETRAN_FIELD_HISTORY,
    FIVETRAN_COMMENTS,
]
