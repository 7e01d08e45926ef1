"""Intercom conversations: the Fivetran conversation history table and the API conversation list.

export-formats.md B5. The Fivetran `conversation_history` table holds one row per update of a
conversation: the latest `updated_at` of each id is the conversation, older rows are superseded.
Intercom has no ticket type, so the category comes only from option `category_field` (a column,
or on the API page a custom attribute); without it the rows are quarantined (`category is
missing`). `snoozed` counts as pending (the conversation waits, as a pending ticket does).

Options besides the shared ticket options (`category_field`, `ai_draft_field`, `ai_draft_tags`,
`draft_outcome_field`, `draft_outcome_tags`, `status_map`):
- `solved_at_from_history` (Fivetran table, default false): a closed conversation's solved_at is
  the `updated_at` of the first version of its last closed run in the file. The table records
  no close time; only use this when the file holds each conversation's whole history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
from pydantic import Field

from pipelines.adapters.base import (
    SUPERSEDED,
    Adapter,
    AdapterContext,
    has_columns,
    has_paths,
    text,
    unix_seconds,
)
from pipelines.adapters.tickets_common import (
    DRAFT_MAPPING,
    TicketOptions,
    column_field,
    column_text,
    draft_columns,
    keep_columns,
    naive_utc,
    superseded,
    ticket_status,
)
from pipelines.read import LINE, RefusedFile, cell_text

_STATES = {"snoozed": "pending"}
_UTC = "%Y-%m-%dT%H:%M:%S%.6f+00:00"


class HistoryOptions(TicketOptions):
    """Options of the Fivetran conversation history table."""

    solved_at_from_history: bool = Field(
        default=False,
        description="A closed conversation's solved_at is when its last closed run began.",
    )


def _category(
    raw: pl.DataFrame, options: TicketOptions, field: Callable[[str], pl.Expr]
) -> pl.Expr:
    name = options.category_field
    return pl.lit(None, dtype=pl.String) if name is None else field(name)


# --- Fivetran conversation history ------------------------------------------------------------


def _history_solved_at(raw: pl.DataFrame) -> pl.Expr:
    """The first `updated_at` of the last run of closed versions, on closed versions."""
    version = text("updated_at").str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False)
    closed = text("state").str.to_lowercase() == "closed"
    last_not_closed = version.filter(~closed).max().over(text("id"))
    since = last_not_closed.is_null() | (version > last_not_closed)
    closing = version.filter(closed & since).min().over(text("id"))
    return (
        pl.when(closed & version.is_not_null())
        .then(closing.dt.strftime(_UTC))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def transform_history(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Fivetran conversation versions as canonical ticket rows, older versions superseded."""
    options = ctx.options(HistoryOptions)
    version = text("updated_at").str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False)
    assignee_type = column_text(raw, "assignee_type").str.to_lowercase()
    field = column_field(raw, "category_field")
    solved = (
        _history_solved_at(raw) if options.solved_at_from_history else pl.lit(None, dtype=pl.String)
    )
    return raw.select(
        *keep_columns(raw),
        text("id").alias("ticket_id"),
        naive_utc("created_at").alias("created_at"),
        solved.alias("solved_at"),
        ticket_status(text("state"), options, _STATES).alias("status"),
        _category(raw, options, field).alias("category"),
        # A team is no agent: only an admin (teammate) assignee is.
        pl.when(assignee_type.is_null() | (assignee_type == "admin"))
        .then(column_text(raw, "assignee_id"))
        .alias("agent"),
        *draft_columns(options, None, column_field(raw, "ai_draft_field")),
        superseded(raw, text("id"), version).alias(SUPERSEDED),
    )


FIVETRAN_HISTORY = Adapter(
    name="intercom_fivetran_history",
    source="tickets",
    title="Intercom conversation history synced by Fivetran (conversation_history_data)",
    target="tickets",
    detect=has_columns(
        "id", "updated_at", "created_at", "state", "assignee_type", "_fivetran_synced"
    ),
    transform=transform_history,
    options=HistoryOptions,
    mapping={
        "ticket_id": "id (the conversation id)",
        "created_at": "created_at (naive UTC)",
        "solved_at": "null; with option solved_at_from_history, the updated_at at which a "
        "closed conversation was last closed",
        "status": "state (open, closed, snoozed -> pending; option status_map)",
        "category": "option category_field (a column); no default: null otherwise",
        "agent": "assignee_id when assignee_type is admin (a team is no agent)",
        "ai_draft_used": "option ai_draft_field (a column), else unknown (null)",
        "draft_outcome": "option draft_outcome_field (a column), else unknown (null)",
        SUPERSEDED: "every version of a conversation but the latest updated_at",
    },
)


# --- API conversation list --------------------------------------------------------------------


def read_conversations(value: Any) -> pl.DataFrame:
    """One row per conversation of a list or search page (`conversations[]`).

    Custom attributes become columns `custom_attributes.<name>` (lower-cased); tag names become
    the JSON list column `tag_names`.
    """
    if not isinstance(value, dict) or not isinstance(value.get("conversations"), list):
        raise RefusedFile("Intercom page without a conversations list")
    records: list[dict[str, str | None]] = []
    for item in value["conversations"]:
        if not isinstance(item, dict):
            raise RefusedFile("Intercom page holds conversations that are not objects")
        record = {str(k).lower(): cell_text(v) for k, v in item.items()}
        for name, attribute in (item.get("custom_attributes") or {}).items():
            record[f"custom_attributes.{str(name).strip().lower()}"] = cell_text(attribute)
        tags = item.get("tags")
        if isinstance(tags, dict) and isinstance(tags.get("tags"), list):
            record["tag_names"] = cell_text(
                [t.get("name") for t in tags["tags"] if isinstance(t, dict) and t.get("name")]
            )
        records.append(record)
    if not records:
        raise RefusedFile("empty file (no conversations)")
    columns = list(dict.fromkeys(k for r in records for k in r))
    frame = pl.DataFrame(
        {c: [r.get(c) for r in records] for c in columns}, schema={c: pl.String for c in columns}
    )
    return frame.with_row_index(LINE, offset=1)


def _api_field(raw: pl.DataFrame, option: str) -> Callable[[str], pl.Expr]:
    def field(name: str) -> pl.Expr:
        key = name.strip().lower()
        for column in (key, f"custom_attributes.{key}"):
            if column in raw.columns:
                return text(column)
        raise RefusedFile(f"option {option}: no conversation has the attribute {name!r}")

    return field


def _unix(value: pl.Expr) -> pl.Expr:
    number = value.cast(pl.Float64, strict=False)
    stamp = (number * 1_000_000).cast(pl.Int64, strict=False).cast(pl.Datetime("us", "UTC"))
    return pl.when(number.is_not_null()).then(stamp.dt.strftime(_UTC)).otherwise(value)


def _statistic(raw: pl.DataFrame, name: str) -> pl.Expr:
    if "statistics" not in raw.columns:
        return pl.lit(None, dtype=pl.String)
    return text("statistics").str.json_path_match(f"$.{name}")


def transform_api(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Intercom API conversations as canonical ticket rows."""
    options = ctx.options(TicketOptions)
    state = column_text(raw, "state")
    tags = (
        text("tag_names").str.json_decode(pl.List(pl.String))
        if "tag_names" in raw.columns
        else None
    )
    closed = state.str.to_lowercase() == "closed"
    version = column_text(raw, "updated_at").cast(pl.Float64, strict=False)
    return raw.select(
        *keep_columns(raw),
        text("id").alias("ticket_id"),
        unix_seconds("created_at").alias("created_at"),
        pl.when(closed).then(_unix(_statistic(raw, "last_close_at"))).alias("solved_at"),
        ticket_status(state, options, _STATES).alias("status"),
        _category(raw, options, _api_field(raw, "category_field")).alias("category"),
        column_text(raw, "admin_assignee_id").alias("agent"),
        *draft_columns(options, tags, _api_field(raw, "ai_draft_field")),
        pl.coalesce([_statistic(raw, "count_reopens"), _statistic(raw, "reopens")]).alias(
            "reopened"
        ),
        superseded(raw, text("id"), version).alias(SUPERSEDED),
    )


API_CONVERSATIONS = Adapter(
    name="intercom_api",
    source="tickets",
    title="Intercom API conversation list or search page (conversations[])",
    target="tickets",
    detect=has_paths("conversations[].id", "conversations[].state", "conversations[].created_at"),
    transform=transform_api,
    read_document=read_conversations,
    options=TicketOptions,
    mapping={
        "ticket_id": "id (the conversation id)",
        "created_at": "created_at (unix seconds)",
        "solved_at": "statistics.last_close_at (unix seconds) when state is closed",
        "status": "state (open, closed, snoozed -> pending; option status_map)",
        "category": "option category_field (a conversation key or custom attribute); no "
        "default: null otherwise",
        "agent": "admin_assignee_id",
        **DRAFT_MAPPING,
        "reopened": "statistics.count_reopens",
        SUPERSEDED: "an older version (updated_at) of a conversation listed again",
    },
)

ADAPTERS: list[Adapter] = [FIVETRAN_HISTORY, API_CONVERSATIONS]
