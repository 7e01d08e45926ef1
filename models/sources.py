"""Canonical sources: the columns, keys and allowed values every input is mapped onto.

One `SourceSpec` per source of contract section 4. Adapters produce these columns; checks and
the warehouse rely on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

ColumnType = Literal["str", "int", "float", "bool", "datetime", "date"]

# The polars type each column type is read into; timestamps are UTC.
POLARS_TYPES: dict[ColumnType, pl.DataType | type[pl.DataType]] = {
    "str": pl.String,
    "int": pl.Int64,
    "float": pl.Float64,
    "bool": pl.Boolean,
    "datetime": pl.Datetime("us", "UTC"),
    "date": pl.Date,
}

# The largest magnitude a number of an input row may have. Beyond it (or infinite, or NaN) the
# cell is quarantined: sums and projections of such values overflow to infinity, which no JSON
# document or report can hold. A trillion is far beyond any honest cost, duration or count.
MAX_ABS_NUMBER = 1e12

USAGE_STATUSES = ("ok", "error", "timeout")
TICKET_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
DRAFT_OUTCOMES = ("sent_as_is", "edited", "rewritten", "discarded")
ACTIVITIES = ("review", "rework", "escalation", "maintenance", "other")
SEVERITIES = ("none", "low", "medium", "stop_now")
FINDING_CATEGORIES = (
    "wrong_facts",
    "missed_policy",
    "tone",
    "missing_context",
    "should_have_handed_off",
    "privacy",
    "other",
)
# `restart`: the stop authority (or backup) lets a paused pilot run again; not a change of the
# system, so it never explains a cost rise nor counts toward change frequency.
CHANGE_KINDS = ("prompt", "model", "tool", "data_source", "policy", "restart")


@dataclass(frozen=True)
class SourceSpec:
    """What one canonical source looks like once normalised."""

    name: str
    key: tuple[str, ...]
    columns: dict[str, ColumnType]
    required: tuple[str, ...]
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    non_negative: tuple[str, ...] = ()
    # (a, b): a >= b whenever both are present.
    ordered_pairs: tuple[tuple[str, str], ...] = ()
    # Timestamps that must not lie in the future.
    not_future: tuple[str, ...] = ()
    # Columns whose ISO week (pilot timezone) says which weeks a file holds rows of.
    week_columns: tuple[str, ...] = ()

    def polars_schema(
        self, columns: Iterable[str] | None = None
    ) -> dict[str, pl.DataType | type[pl.DataType]]:
        """The polars types of the named columns (all columns by default), in the order named;
        a name that is not one of the source's columns raises KeyError."""
        names = self.columns if columns is None else columns
        return {c: POLARS_TYPES[self.columns[c]] for c in names}


USAGE = SourceSpec(
    name="usage",
    key=("request_id",),
    columns={
        "request_id": "str",
        "timestamp": "datetime",
        "task_id": "str",
        "user": "str",
        "provider": "str",
        "model": "str",
        "prompt_version": "str",
        "input_tokens": "int",
        "output_tokens": "int",
        "cached_input_tokens": "int",
        "cost_usd": "float",
        "latency_ms": "float",
        "status": "str",
    },
    required=("request_id", "timestamp", "model", "input_tokens", "output_tokens", "status"),
    enums={"status": USAGE_STATUSES},
    non_negative=("input_tokens", "output_tokens", "cached_input_tokens", "cost_usd", "latency_ms"),
    ordered_pairs=(("input_tokens", "cached_input_tokens"),),
    not_future=("timestamp",),
    week_columns=("timestamp",),
)

TICKETS = SourceSpec(
    name="tickets",
    key=("ticket_id",),
    columns={
        "ticket_id": "str",
        "created_at": "datetime",
        "solved_at": "datetime",
        "status": "str",
        "category": "str",
        "agent": "str",
        "ai_draft_used": "bool",
        "draft_outcome": "str",
        "reopened": "int",
        "escalated": "bool",
        "handle_minutes": "float",
        "contact_count": "int",
    },
    required=("ticket_id", "created_at", "status", "category", "ai_draft_used"),
    enums={"status": TICKET_STATUSES, "draft_outcome": DRAFT_OUTCOMES},
    non_negative=("reopened", "handle_minutes", "contact_count"),
    ordered_pairs=(("solved_at", "created_at"),),
    not_future=("created_at", "solved_at"),
    week_columns=("solved_at", "created_at"),
)

TIMESHEETS = SourceSpec(
    name="timesheets",
    key=("entry_id",),
    columns={
        "entry_id": "str",
        "person": "str",
        "work_date": "date",
        "started_at": "datetime",
        "minutes": "float",
        "activity": "str",
        "ticket_id": "str",
    },
    # entry_id is derived when absent; work_date and minutes are derived from start/end/duration.
    required=("entry_id", "person", "work_date", "minutes", "activity"),
    enums={"activity": ACTIVITIES},
    non_negative=("minutes",),
    not_future=("started_at",),
    week_columns=("work_date",),
)

REVIEWS = SourceSpec(
    name="reviews",
    key=("ticket_id", "reviewer", "reviewed_at"),
    columns={
        "ticket_id": "str",
        "reviewed_at": "datetime",
        "reviewer": "str",
        "severity": "str",
        "category": "str",
        "note": "str",
        "fix": "str",
    },
    required=("ticket_id", "reviewed_at", "reviewer", "severity"),
    enums={"severity": SEVERITIES, "category": FINDING_CATEGORIES},
    not_future=("reviewed_at",),
    week_columns=("reviewed_at",),
)

CHANGES = SourceSpec(
    name="changes",
    key=("kind", "version"),
    columns={
        "changed_at": "datetime",
        "kind": "str",
        "version": "str",
        "approved_by": "str",
        "description": "str",
    },
    required=("changed_at", "kind", "version"),
    enums={"kind": CHANGE_KINDS},
    not_future=("changed_at",),
    week_columns=("changed_at",),
)

PROVIDER_COSTS = SourceSpec(
    name="provider_costs",
    key=("bucket_id",),
    columns={
        # Derived from the other key parts when the export has no id of its own.
        "bucket_id": "str",
        "bucket_start": "datetime",
        "bucket_end": "datetime",
        "provider": "str",
        "kind": "str",  # usage: token counts of a bucket; cost: money of a bucket
        "model": "str",
        "line_item": "str",  # e.g. "input", "cached input", "output_tokens"
        "project": "str",  # OpenAI project, Anthropic workspace
        "api_key": "str",
        "input_tokens": "int",  # includes cached input, as in usage
        "cached_input_tokens": "int",
        "output_tokens": "int",
        "requests": "int",
        "cost_usd": "float",
        "currency": "str",
    },
    required=("bucket_id", "bucket_start", "provider", "kind"),
    enums={"kind": ("usage", "cost")},
    non_negative=("input_tokens", "cached_input_tokens", "output_tokens", "requests"),
    ordered_pairs=(("input_tokens", "cached_input_tokens"), ("bucket_end", "bucket_start")),
    not_future=("bucket_start",),
    week_columns=("bucket_start",),
)
"""Provider bills: usage and cost per time bucket from a provider's usage or cost report. Not
attributable to tasks, never added to per-request usage; used to reconcile it."""

TICKET_LABELS = SourceSpec(
    name="ticket_labels",
    key=("label_id",),
    columns={
        "label_id": "str",  # derived from the other columns when absent
        "ticket_id": "str",
        "name": "str",  # "tag", a field name ("status", "custom_field_123"), "comment"
        "value": "str",
        "labelled_at": "datetime",  # when the value was set; null for a tag snapshot
    },
    required=("label_id", "ticket_id", "name"),
    not_future=("labelled_at",),
    week_columns=("labelled_at",),
)
"""Ticket labels: tags, field changes and comments a help desk exports apart from its tickets
(the Zendesk tag and field-history tables). Facts use them for what the ticket row lacks."""

SPECS: dict[str, SourceSpec] = {
    s.name: s for s in (USAGE, TICKETS, TIMESHEETS, REVIEWS, CHANGES, PROVIDER_COSTS, TICKET_LABELS)
}

# Columns a raw timesheet file must offer, as alternatives: one group of each line.
TIMESHEET_ALTERNATIVES = {
    "date": (("date",), ("start",), ("started_at",)),
    "minutes": (("minutes",), ("duration",), ("start", "end")),
}
