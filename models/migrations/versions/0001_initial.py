"""The warehouse schema before email deliveries and fixed week inputs.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTCDateTime = sqlmodel.sql.sqltypes.UTCDateTime

# Source tables (usage, tickets, timesheets, reviews, changes) and the indexes each declares.
SOURCE_INDEXES = {
    "usage_call": [("ix_usage_pilot_time", ["pilot", "timestamp"])],
    "ticket": [("ix_ticket_pilot_solved", ["pilot", "solved_at"])],
    "timesheet_entry": [("ix_timesheet_pilot_date", ["pilot", "work_date"])],
    "review_finding": [],
    "change_entry": [],
}


def _source_row() -> list[sa.Column]:
    """The columns every source row carries: its file, that file's export time, a content hash."""
    return [
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("exported_at", UTCDateTime(), nullable=False),
        sa.Column("row_hash", AutoString(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "ingested_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("source", AutoString(), nullable=False),
        sa.Column("path", AutoString(), nullable=False),
        sa.Column("sha256", AutoString(), nullable=False),
        sa.Column("format", AutoString(), nullable=True),
        sa.Column("exported_at", UTCDateTime(), nullable=False),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
        sa.Column("first_seen_week", AutoString(), nullable=False),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("reason", AutoString(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), nullable=False),
        sa.Column("rows_quarantined", sa.Integer(), nullable=False),
        sa.Column("rows_duplicate", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pilot", "source", "sha256"),
    )
    op.create_index("ix_ingested_file_pilot", "ingested_file", ["pilot"])

    op.create_table(
        "file_week",
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("week", AutoString(), nullable=False),
        sa.Column("pilot", AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("file_id", "week"),
    )
    op.create_index("ix_file_week_pilot", "file_week", ["pilot"])

    op.create_table(
        "quarantined_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("source", AutoString(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("path", AutoString(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("raw", AutoString(), nullable=False),
        sa.Column("reasons", AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_quarantined_row_pilot", "quarantined_row", ["pilot"])
    op.create_index("ix_quarantine_file", "quarantined_row", ["file_id", "line"])

    op.create_table(
        "usage_call",
        *_source_row(),
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("request_id", AutoString(), nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.Column("task_id", AutoString(), nullable=True),
        sa.Column("user", AutoString(), nullable=True),
        sa.Column("provider", AutoString(), nullable=True),
        sa.Column("model", AutoString(), nullable=False),
        sa.Column("prompt_version", AutoString(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_input_tokens", sa.Integer(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("model_cost_usd", sa.Float(), nullable=True),
        sa.Column("price_source", AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("pilot", "request_id"),
    )
    op.create_table(
        "ticket",
        *_source_row(),
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("ticket_id", AutoString(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("solved_at", UTCDateTime(), nullable=True),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("category", AutoString(), nullable=False),
        sa.Column("agent", AutoString(), nullable=True),
        sa.Column("ai_draft_used", sa.Boolean(), nullable=False),
        sa.Column("draft_outcome", AutoString(), nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=True),
        sa.Column("handle_minutes", sa.Float(), nullable=True),
        sa.Column("contact_count", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("pilot", "ticket_id"),
    )
    op.create_table(
        "timesheet_entry",
        *_source_row(),
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("entry_id", AutoString(), nullable=False),
        sa.Column("person", AutoString(), nullable=False),
        sa.Column("work_date", sa.Date(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.Column("activity", AutoString(), nullable=False),
        sa.Column("ticket_id", AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("pilot", "entry_id"),
    )
    op.create_table(
        "review_finding",
        *_source_row(),
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("ticket_id", AutoString(), nullable=False),
        sa.Column("reviewer", AutoString(), nullable=False),
        sa.Column("reviewed_at", UTCDateTime(), nullable=False),
        sa.Column("severity", AutoString(), nullable=False),
        sa.Column("category", AutoString(), nullable=True),
        sa.Column("note", AutoString(), nullable=True),
        sa.Column("fix", AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("pilot", "ticket_id", "reviewer", "reviewed_at"),
    )
    op.create_table(
        "change_entry",
        *_source_row(),
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("kind", AutoString(), nullable=False),
        sa.Column("version", AutoString(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("approved_by", AutoString(), nullable=True),
        sa.Column("description", AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("pilot", "kind", "version"),
    )
    for table, indexes in SOURCE_INDEXES.items():
        op.create_index(f"ix_{table}_file_id", table, ["file_id"])
        for name, columns in indexes:
            op.create_index(name, table, columns)

    op.create_table(
        "task_fact",
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("week", AutoString(), nullable=False),
        sa.Column("ticket_id", AutoString(), nullable=False),
        sa.Column("category", AutoString(), nullable=False),
        sa.Column("agent", AutoString(), nullable=True),
        sa.Column("solved_at", UTCDateTime(), nullable=False),
        sa.Column("ai_task", sa.Boolean(), nullable=False),
        sa.Column("excluded_category", sa.Boolean(), nullable=False),
        sa.Column("draft_outcome", AutoString(), nullable=True),
        sa.Column("handle_minutes", sa.Float(), nullable=True),
        sa.Column("model_calls", sa.Integer(), nullable=False),
        sa.Column("model_cost_usd", sa.Float(), nullable=False),
        sa.Column("unpriced_calls", sa.Integer(), nullable=False),
        sa.Column("human_minutes", sa.Float(), nullable=False),
        sa.Column("human_cost_usd", sa.Float(), nullable=False),
        sa.Column("worst_severity", AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("pilot", "week", "ticket_id"),
    )
    op.create_table(
        "weekly_metric",
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("week", AutoString(), nullable=False),
        sa.Column("ai_tasks", sa.Integer(), nullable=False),
        sa.Column("total_cost", sa.Float(), nullable=False),
        sa.Column("cost_per_task", sa.Float(), nullable=True),
        sa.Column("verdict", AutoString(), nullable=True),
        sa.Column("metrics_json", AutoString(), nullable=False),
        sa.Column("inputs_json", AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("pilot", "week"),
    )
    op.create_table(
        "rule_result",
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("week", AutoString(), nullable=False),
        sa.Column("rule_id", AutoString(), nullable=False),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("message", AutoString(), nullable=False),
        sa.Column("evidence_json", AutoString(), nullable=False),
        sa.Column("evidence_total", sa.Integer(), nullable=False),
        sa.Column("owner_role", AutoString(), nullable=False),
        sa.Column("on_fail", AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("pilot", "week", "rule_id"),
    )
    op.create_table(
        "run",
        sa.Column("id", AutoString(), nullable=False),
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("week", AutoString(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("stage", AutoString(), nullable=True),
        sa.Column("error", AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_run_pilot", "run", ["pilot"])


def downgrade() -> None:
    # Dropping a table drops its indexes too.
    for table in (
        "run",
        "rule_result",
        "weekly_metric",
        "task_fact",
        *reversed(SOURCE_INDEXES),
        "quarantined_row",
        "file_week",
        "ingested_file",
    ):
        op.drop_table(table)
